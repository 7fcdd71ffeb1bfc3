package main

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/backprop-go/backprop/data"
)

// downloadBar returns the data option that draws a progress bar on w for
// each file a data set fetch downloads: package data reports progress
// through a callback and leaves the drawing to its caller.
func downloadBar(w io.Writer) data.Option {
	var bar *progressbar.ProgressBar
	var current string
	return data.Progress(func(file string, done, total int64) {
		if bar == nil || file != current {
			current = file
			bar = progressbar.NewOptions64(total,
				progressbar.OptionSetWriter(w),
				progressbar.OptionSetDescription(file),
				progressbar.OptionShowBytes(true),
				progressbar.OptionShowCount(),
				progressbar.OptionSetWidth(30),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
			)
		}
		if done == total { // the end of the file
			bar.ChangeMax64(total)
			bar.Set64(done)
			bar.Finish()
			bar = nil
			return
		}
		bar.Set64(done)
	})
}
