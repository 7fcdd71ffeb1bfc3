package nn

import (
	"errors"
	"fmt"
	"reflect"
	"unsafe"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// CheckRegistered reports every trainable parameter that m can reach
// through its modules' struct fields but that is not registered anywhere
// in m: such a parameter gets gradients, yet [Parameters] does not list
// it, so no optimiser updates it and [StateDict] does not save it —
// silently. It walks each module of m ([Walk]) and its fields, exported
// or not, by reflection (through pointers, interfaces, slices, arrays and
// maps), and returns nil or an error naming, for each unregistered
// sub-module or parameter, the module's name in m, its type and the field
// path, such as
//
//	nn: module "blocks.0" (*main.Block): field Extra (*nn.LinearModule) holds 2 parameters that are not registered: register it (Container.RegisterModule, or list it in Children)
//
// A field counts as registered when it holds a module or parameter that m
// reaches by its registrations, under any name (a weight tied between two
// layers). Values that need no gradient (ag.Const) and tensors are not
// reported: they may be caches or constants. It costs one reflection walk
// of the model, so call it once, after building a model, rather than every
// step.
func CheckRegistered(m any) error {
	params := map[unsafe.Pointer]bool{}
	for _, p := range NamedParameters(m) {
		params[unsafe.Pointer(p.Value)] = true
	}
	modules := map[unsafe.Pointer]bool{}
	var order []NamedModule
	Walk(m, func(name string, sub any) bool {
		if v := reflect.ValueOf(sub); v.Kind() == reflect.Pointer && !v.IsNil() {
			modules[v.UnsafePointer()] = true
		}
		order = append(order, NamedModule{name, sub})
		return true
	})
	var errs []error
	for _, nm := range order {
		c := &regChecker{params: params, modules: modules, seen: map[unsafe.Pointer]bool{}}
		v := reflect.ValueOf(nm.Module)
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				continue
			}
			c.seen[v.UnsafePointer()] = true
			v = v.Elem()
		}
		c.scan(v, "")
		name := nm.Name
		if name == "" {
			name = "(the model)"
		} else {
			name = fmt.Sprintf("%q", name)
		}
		for _, p := range c.found {
			errs = append(errs, fmt.Errorf("nn: module %s (%T): %s", name, nm.Module, p))
		}
	}
	return errors.Join(errs...)
}

type regChecker struct {
	params, modules, seen map[unsafe.Pointer]bool
	found                 []string
}

var (
	valueType  = reflect.TypeFor[*ag.Value]()
	tensorType = reflect.TypeFor[*tensor.Tensor]()
)

// isModuleType reports whether values of t are modules by interface.
func isModuleType(t reflect.Type) bool {
	for _, i := range []reflect.Type{reflect.TypeFor[Module](), reflect.TypeFor[Parent](), reflect.TypeFor[ParameterOwner]()} {
		if t.Implements(i) {
			return true
		}
	}
	return false
}

// scan looks for unregistered trainable parameters under v, at field path
// path, records each, and returns how many it found.
func (c *regChecker) scan(v reflect.Value, path string) int {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return 0
		}
		p := v.UnsafePointer()
		switch v.Type() {
		case valueType:
			val := (*ag.Value)(p)
			if c.params[p] || !val.RequiresGrad() || c.seen[p] {
				return 0
			}
			c.seen[p] = true
			c.found = append(c.found, fmt.Sprintf("field %s (a trainable *autograd.Value) is not a registered parameter: register it (Container.RegisterParameter, or list it in LocalParameters)", path))
			return 1
		case tensorType:
			return 0
		}
		if c.modules[p] || c.seen[p] {
			return 0 // checked as a module of its own, or already scanned
		}
		c.seen[p] = true
		if isModuleType(v.Type()) {
			// A whole module that is not registered: report it once,
			// rather than each of its parameters.
			sub := &regChecker{params: c.params, modules: c.modules, seen: c.seen}
			n := sub.scan(v.Elem(), path)
			if n > 0 {
				c.found = append(c.found, fmt.Sprintf("field %s (%s) holds %d parameter%s that %s not registered: register it (Container.RegisterModule, or list it in Children)",
					path, v.Type(), n, plural(n), isAre(n)))
			}
			return n
		}
		return c.scan(v.Elem(), path)
	case reflect.Interface:
		if v.IsNil() {
			return 0
		}
		return c.scan(v.Elem(), path)
	case reflect.Struct:
		n := 0
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Type == reflect.TypeFor[Container]() {
				continue // the registrations themselves
			}
			fp := f.Name
			if path != "" {
				fp = path + "." + f.Name
			}
			fv := v.Field(i)
			if f.Anonymous && fv.Kind() == reflect.Pointer && !fv.IsNil() && !c.modules[fv.UnsafePointer()] {
				// An embedded module is part of this one: look inside
				// it rather than reporting it whole.
				if p := fv.UnsafePointer(); !c.seen[p] {
					c.seen[p] = true
					n += c.scan(fv.Elem(), fp)
				}
				continue
			}
			n += c.scan(fv, fp)
		}
		return n
	case reflect.Slice, reflect.Array:
		if !mayHold(v.Type().Elem()) {
			return 0
		}
		n := 0
		for i := range v.Len() {
			n += c.scan(v.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		return n
	case reflect.Map:
		if !mayHold(v.Type().Elem()) {
			return 0
		}
		n := 0
		it := v.MapRange()
		for it.Next() {
			n += c.scan(it.Value(), fmt.Sprintf("%s[%v]", path, it.Key()))
		}
		return n
	}
	return 0
}

// mayHold reports whether values of t can lead to a parameter: not
// numbers, strings or functions.
func mayHold(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Struct, reflect.Slice, reflect.Array, reflect.Map:
		return true
	}
	return false
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}
