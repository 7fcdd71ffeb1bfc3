package nn

import (
	"reflect"
	"unsafe"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// Clone returns a deep copy of the model m, as Python's copy.deepcopy of a
// torch.nn.Module: the same structure, types, options, names, modes and
// freezing, with every parameter and buffer copied into storage of its
// own, so that training one leaves the other unchanged. A parameter shared
// by two modules of m (a tied weight) is shared in the copy too, and a
// Dropout's generator is copied with its state, so the clone draws the
// same masks as the original would.
//
// Parameters are copied as leaves with the same requires-grad and without
// gradients; functions (a FuncModule's) are shared, as they hold no
// state of the model. Clone copies by reflection, unexported fields
// included, so it works on any module a user writes; a module that holds
// a lock or a channel should not be cloned while in use.
func Clone[T any](m T) T {
	c := cloner{memo: map[memoKey]reflect.Value{}}
	src := reflect.ValueOf(&m).Elem()
	dst := reflect.New(src.Type()).Elem()
	c.copy(dst, src)
	return dst.Interface().(T)
}

type memoKey struct {
	t reflect.Type
	p unsafe.Pointer
}

type cloner struct {
	memo map[memoKey]reflect.Value
}

// open makes v, a field reached through an unexported name, readable and
// (when addressable) settable.
func open(v reflect.Value) reflect.Value {
	if v.CanAddr() {
		return reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
	}
	return v
}

// copy deep-copies src into dst, a settable value of the same type.
func (c *cloner) copy(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		key := memoKey{src.Type(), src.UnsafePointer()}
		if v, ok := c.memo[key]; ok {
			dst.Set(v)
			return
		}
		var nv reflect.Value
		switch src.Type() {
		case valueType:
			old := (*ag.Value)(src.UnsafePointer())
			v := ag.Param(old.Data.Clone())
			v.SetRequiresGrad(old.RequiresGrad())
			nv = reflect.ValueOf(v)
		case tensorType:
			nv = reflect.ValueOf((*tensor.Tensor)(src.UnsafePointer()).Clone())
		default:
			nv = reflect.New(src.Type().Elem())
			c.memo[key] = nv // before the copy, for cycles
			c.copy(nv.Elem(), open(src.Elem()))
		}
		c.memo[key] = nv
		dst.Set(nv)
	case reflect.Interface:
		if src.IsNil() {
			return
		}
		e := src.Elem()
		// An interface's dynamic value is not addressable: copy it
		// into a variable first, so that its fields can be read.
		tmp := reflect.New(e.Type()).Elem()
		tmp.Set(e)
		out := reflect.New(e.Type()).Elem()
		c.copy(out, tmp)
		dst.Set(out)
	case reflect.Struct:
		for i := range src.NumField() {
			c.copy(open(dst.Field(i)), open(src.Field(i)))
		}
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		out := reflect.MakeSlice(src.Type(), src.Len(), src.Cap())
		if mayHold(src.Type().Elem()) {
			for i := range src.Len() {
				c.copy(out.Index(i), src.Index(i))
			}
		} else {
			reflect.Copy(out, src)
		}
		dst.Set(out)
	case reflect.Array:
		if !mayHold(src.Type().Elem()) {
			dst.Set(src)
			return
		}
		for i := range src.Len() {
			c.copy(dst.Index(i), src.Index(i))
		}
	case reflect.Map:
		if src.IsNil() {
			return
		}
		out := reflect.MakeMapWithSize(src.Type(), src.Len())
		it := src.MapRange()
		for it.Next() {
			v := reflect.New(src.Type().Elem()).Elem()
			c.copy(v, it.Value())
			out.SetMapIndex(it.Key(), v)
		}
		dst.Set(out)
	default:
		// Numbers, strings, functions, channels: copied as they are.
		dst.Set(src)
	}
}
