// Package optim holds gradient-descent optimisers, learning-rate schedules
// and gradient clipping, with the update rules, defaults and names of
// PyTorch's torch.optim, torch.optim.lr_scheduler and torch.nn.utils.
//
// A training step reads each parameter's gradient and updates its data in
// place:
//
//	opt := optim.AdamW(model.Parameters(), optim.LR(1e-3))
//	sched := optim.NewScheduler(opt, optim.CosineAnnealingLR(epochs, 0))
//	for epoch := 0; epoch < epochs; epoch++ {
//		for each batch {
//			opt.ZeroGrad()
//			loss.Backward()
//			optim.ClipGradNorm(opt.Params(), 1, 2)
//			opt.Step()
//		}
//		sched.Step()
//	}
//
// # Parameter groups
//
// Every optimiser takes either a plain parameter list (one group, with the
// constructor's options) or a list of groups, each with options of its own
// that override the constructor's, as torch.optim's param groups:
//
//	decay, noDecay := optim.SplitDecay(nn.Parameters(model))
//	opt := optim.AdamW(optim.Groups(
//		optim.ParamGroup(decay),
//		optim.ParamGroup(noDecay, optim.WeightDecay(0)),
//	), optim.LR(1e-3))
//
// Schedulers set each group's rate from its own base rate (PyTorch scales
// each group's initial_lr); ReduceLROnPlateau cuts each group's rate on its
// own. Optimizer.SetLR sets every group to one rate; GroupLRs and
// ApplySchedule are for loops that keep the epoch count themselves. A
// parameter whose requires-grad is off (frozen) is skipped by Step, as one
// without a gradient is.
//
// # Numerics
//
// Every update computes in float32, element by element, in the operation
// order of PyTorch's single-tensor (foreach=False) CPU implementation (as of
// PyTorch 1.13, which made the golden data), so that results agree with
// PyTorch bit for bit on the golden cases. Scalars that PyTorch computes in
// Python (bias corrections, step sizes, 1−β) are computed in float64 and
// rounded to float32 where PyTorch rounds them. Where PyTorch's kernels
// fuse a multiply and an add (x.add_(y, alpha=a), addcmul) the update uses a
// correctly rounded float32 fused multiply-add; every other product is
// rounded explicitly, so the compiler never fuses on its own and results are
// the same bit for bit on every architecture. The loops are sequential and
// deterministic, and free of bounds checks.
//
// A parameter whose Grad is nil is skipped by Step (its state and step count
// do not advance), as in PyTorch. State buffers are allocated by the first
// Step that updates a parameter (Adagrad's accumulator, as in PyTorch, at
// construction); after that Step allocates nothing.
//
// # Errors and panics
//
// Constructors take functional options (LR, Momentum, Betas, ...). An option
// that the optimiser or schedule does not take, a value PyTorch would reject
// (a negative learning rate, betas outside [0, 1), Nesterov momentum without
// momentum), a nil or repeated parameter, and a gradient whose shape differs
// from its parameter's are programming errors and panic with a message that
// names the optimiser and the option or parameter. LoadStateDict, which
// reads data from outside, returns errors instead.
//
// # Checkpoints
//
// Optimizer.StateDict holds the per-parameter state under PyTorch's names
// ("state.0.step", "state.0.exp_avg", ...), keyed by the parameter's index in
// the list given to the constructor (counted across groups); an optimiser of
// several groups also saves "param_groups.<g>.params", its groups'
// parameter indices, and loading checks them. Hyperparameters are not in it: rebuild
// the optimiser with the same options, then load the state; the learning rate
// is restored by loading the scheduler's state (LRScheduler, Plateau), which
// sets it on the optimiser. Step counts are stored as float32 scalars, as
// PyTorch does, and so are exact up to 2^24 steps (beyond, they round to
// the nearest float32, as in PyTorch).
package optim
