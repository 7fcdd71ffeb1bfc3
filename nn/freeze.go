package nn

// Freezer is implemented by modules that remember being frozen: the
// layers with a training mode (BatchNorm, Dropout), [Container], [List]
// and [SequentialModule]. [SetTraining] keeps a frozen module, and every
// module below it, in evaluation mode. A custom module gets it by
// embedding a [Container] or a [FreezeFlag].
type Freezer interface {
	SetFrozen(frozen bool)
	Frozen() bool
}

// FreezeFlag implements [Freezer]; embed it in a module that should
// remember being frozen.
type FreezeFlag struct{ frozen bool }

// SetFrozen records whether the module is frozen; [Freeze] and [Unfreeze]
// call it.
func (f *FreezeFlag) SetFrozen(frozen bool) { f.frozen = frozen }

// Frozen reports whether the module is frozen.
func (f *FreezeFlag) Frozen() bool { return f.frozen }

func isFrozen(m any) bool {
	f, ok := m.(Freezer)
	return ok && f.Frozen()
}

// Freeze excludes m and everything below it from training, as PyTorch
// users do with m.requires_grad_(False) followed by m.eval(): every
// parameter stops requiring a gradient (and loses the one it had), so
// Backward leaves it nil and optimisers, which skip parameters without a
// gradient, do not update it, weight decay included; every module is put
// in evaluation mode and marked frozen, so that [SetTraining] (and
// [Train], which train.Fit calls each epoch) leaves it there: a frozen
// BatchNorm normalises with its running statistics and never updates
// them, a frozen Dropout passes its input through.
//
// To freeze single parameters instead, call SetRequiresGrad(false) on
// them: that stops their updates but does not change any module's mode.
func Freeze(m any) {
	for _, p := range NamedParameters(m) {
		p.Value.ZeroGrad()
		p.Value.SetRequiresGrad(false)
	}
	Walk(m, func(_ string, sub any) bool {
		if f, ok := sub.(Freezer); ok {
			f.SetFrozen(true)
		}
		if ms, ok := sub.(ModeSetter); ok {
			ms.SetTraining(false)
		}
		return true
	})
}

// Unfreeze undoes [Freeze] on m and everything below it: every parameter
// requires a gradient again (also one frozen by SetRequiresGrad) and no
// module is marked frozen. Modes are left as they are until the next
// [SetTraining] or [Train].
func Unfreeze(m any) {
	for _, p := range NamedParameters(m) {
		p.Value.SetRequiresGrad(true)
	}
	Walk(m, func(_ string, sub any) bool {
		if f, ok := sub.(Freezer); ok {
			f.SetFrozen(false)
		}
		return true
	})
}
