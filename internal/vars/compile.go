package vars

import (
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
)

// inSetMin is the "in" list length from which a map replaces a linear scan.
const inSetMin = 8

func errorf(format string, args ...any) error {
	return &compileError{reason: fmt.Sprintf(format, args...)}
}

// kind classifies a decoded JSON value the way Lua sees it.
type kind uint8

const (
	kNull kind = iota
	kString
	kNumber
	kBool
	kList
	kObject
	kOther
)

// value is a classified decoded JSON value.
type value struct {
	kind kind
	str  string  // kString
	num  float64 // kNumber
	list []any   // kList
	raw  any
}

func classify(x any) value {
	switch t := x.(type) {
	case nil:
		return value{kind: kNull}
	case string:
		return value{kind: kString, str: t, raw: x}
	case float64:
		return value{kind: kNumber, num: t, raw: x}
	case json.Number:
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil && !isRangeErr(err) {
			return value{kind: kOther, raw: x}
		}
		return value{kind: kNumber, num: f, raw: x}
	case bool:
		return value{kind: kBool, raw: x}
	case []any:
		return value{kind: kList, list: t, raw: x}
	case map[string]any:
		return value{kind: kObject, raw: x}
	}
	rv := reflect.ValueOf(x)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return value{kind: kNumber, num: float64(rv.Int()), raw: x}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return value{kind: kNumber, num: float64(rv.Uint()), raw: x}
	case reflect.Float32, reflect.Float64:
		return value{kind: kNumber, num: rv.Float(), raw: x}
	case reflect.String:
		return value{kind: kString, str: rv.String(), raw: x}
	case reflect.Bool:
		return value{kind: kBool, raw: x}
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return value{kind: kNull}
		}
		list := make([]any, rv.Len())
		for i := range list {
			list[i] = rv.Index(i).Interface()
		}
		return value{kind: kList, list: list, raw: x}
	case reflect.Map:
		return value{kind: kObject, raw: x}
	}
	return value{kind: kOther, raw: x}
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// describe names a value for an error message.
func (v value) describe() string {
	switch v.kind {
	case kNull:
		return "null"
	case kString:
		return strconv.Quote(v.str)
	case kNumber:
		return luaNumberString(v.num)
	case kBool:
		return fmt.Sprint(v.raw)
	case kList:
		return "an array"
	case kObject:
		return "an object"
	}
	return fmt.Sprintf("a %T", v.raw)
}

func (v value) isEmptyObject() bool {
	if v.kind != kObject {
		return false
	}
	rv := reflect.ValueOf(v.raw)
	return rv.Kind() == reflect.Map && rv.Len() == 0
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				b[j] = lower(b[j])
			}
			return string(b)
		}
	}
	return s
}

// logicOp recognises a leading "AND", "OR", "!AND" or "!OR" (any ASCII
// case; Lua string.upper). A number head is a Lua string too, never a
// logical operator.
func logicOp(v value) (op, bool, bool) {
	if v.kind != kString {
		return 0, false, false
	}
	switch asciiLower(v.str) {
	case "and":
		return opAnd, false, true
	case "or":
		return opOr, false, true
	case "!and":
		return opAnd, true, true
	case "!or":
		return opOr, true, true
	}
	return 0, false, false
}

var compareOps = map[string]bool{
	"==": true, "~=": true, ">": true, ">=": true, "<": true, "<=": true,
	"~~": true, "~*": true, "in": true, "has": true, "ipmatch": true,
}

type compiler struct {
	names []string
	seen  map[string]bool
}

func compile(raw any) (e *Expr, err error) {
	defer func() {
		// Compile must never panic; reflect on exotic input is the only
		// conceivable source.
		if r := recover(); r != nil {
			e, err = nil, errorf("invalid expression: %v", r)
		}
	}()
	switch b := raw.(type) {
	case json.RawMessage:
		return compileJSON(b)
	case []byte:
		return compileJSON(b)
	}
	v := classify(raw)
	switch {
	case v.kind == kNull:
		return &Expr{}, nil
	case v.isEmptyObject():
		// APISIX: an empty Lua table passes the "array" schema and
		// lua-resty-expr treats it as an empty rule.
		return &Expr{}, nil
	case v.kind != kList:
		return nil, errorf("rule should be an array, got %s", v.describe())
	case len(v.list) == 0:
		return &Expr{}, nil
	}
	head := classify(v.list[0])
	if head.kind != kList && head.kind != kObject {
		if _, _, ok := logicOp(head); !ok {
			return nil, errorf("rule should be wrapped inside brackets")
		}
	}
	c := &compiler{seen: map[string]bool{}}
	root, err := c.rule(v.list, 1)
	if err != nil {
		return nil, err
	}
	return &Expr{root: &root, names: c.names}, nil
}

func compileJSON(b []byte) (*Expr, error) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return nil, errorf("invalid JSON: %v", err)
	}
	if dec.More() {
		return nil, errorf("invalid JSON: trailing data")
	}
	return compile(raw)
}

// rule compiles a list that is a rule: a list of nodes, a logical operator
// followed by nodes, or an expression (lua-resty-expr's compile).
func (c *compiler) rule(list []any, depth int) (node, error) {
	if len(list) == 0 {
		return node{}, errorf("rule too short")
	}
	if depth > MaxDepth {
		return node{}, errorf("rule nested deeper than %d levels", MaxDepth)
	}
	head := classify(list[0])
	if head.kind == kList || head.kind == kObject {
		n := node{op: opAnd, kids: make([]node, len(list))}
		for i, x := range list {
			kid, err := c.child(x, depth)
			if err != nil {
				return node{}, err
			}
			n.kids[i] = kid
		}
		return n, nil
	}
	if lop, neg, ok := logicOp(head); ok {
		if len(list) <= 2 {
			return node{}, errorf("rule too short")
		}
		n := node{op: lop, neg: neg, kids: make([]node, len(list)-1)}
		for i, x := range list[1:] {
			kid, err := c.child(x, depth)
			if err != nil {
				return node{}, err
			}
			n.kids[i] = kid
		}
		return n, nil
	}
	return c.expr(list)
}

// child compiles an element of a rule, which must itself be a list.
func (c *compiler) child(x any, depth int) (node, error) {
	v := classify(x)
	switch v.kind {
	case kList:
		return c.rule(v.list, depth+1)
	case kObject:
		if v.isEmptyObject() {
			return node{}, errorf("rule too short")
		}
	}
	return node{}, errorf("invalid expression: expect an array, got %s", v.describe())
}

// expr compiles [var, op, value], [var, "!", op, value] or [var, value]
// (lua-resty-expr's compile_expr), then checks and prepares the operand.
func (c *compiler) expr(list []any) (node, error) {
	var lv, opv, rv value
	hasOp, hasRV, reverse := false, false, false
	switch len(list) {
	case 4:
		if not := classify(list[1]); not.kind != kString || not.str != "!" {
			return node{}, errorf("bad 'not' expression")
		}
		reverse = true
		lv, opv, rv = classify(list[0]), classify(list[2]), classify(list[3])
		hasOp, hasRV = true, true
	case 3:
		lv, opv, rv = classify(list[0]), classify(list[1]), classify(list[2])
		hasOp, hasRV = true, true
	case 2:
		lv, opv = classify(list[0]), classify(list[1])
		hasOp = true
	case 1:
		lv = classify(list[0])
	default:
		return node{}, errorf("invalid expression: %d elements, expect [var, op, value] or [var, \"!\", op, value]", len(list))
	}

	var opName string
	if hasOp {
		switch opv.kind {
		case kString:
			opName = asciiLower(opv.str)
		case kNumber:
			opName = luaNumberString(opv.num)
		default:
			return node{}, errorf("invalid operator %s, expect a string", opv.describe())
		}
	}
	if !hasRV && !compareOps[opName] {
		// lua-resty-expr "for compatibility": [var, value] is
		// [var, "==", value], with value as lower-cased above.
		if !hasOp {
			return node{}, errorf("invalid expression")
		}
		rv = value{kind: kString, str: opName}
		opName = "=="
	}
	if !compareOps[opName] {
		return node{}, errorf("invalid operator '%s'", opName)
	}
	if lv.kind != kString || lv.str == "" {
		return node{}, errorf("invalid expression: variable name must be a non-empty string, got %s", lv.describe())
	}

	n := node{name: lv.str, neg: reverse}
	if err := n.operand(opName, rv); err != nil {
		return node{}, err
	}
	if !c.seen[n.name] {
		c.seen[n.name] = true
		c.names = append(c.names, n.name)
	}
	return n, nil
}

// operand checks the right value of operator name and stores it in n in
// its request-time form.
func (n *node) operand(name string, rv value) error {
	switch name {
	case "==", "~=":
		eq := name == "=="
		switch rv.kind {
		case kNull:
			n.op = pick(eq, opEqNull, opNeNull)
		case kString:
			n.op, n.str = pick(eq, opEqStr, opNeStr), rv.str
		case kNumber:
			n.op, n.num = pick(eq, opEqNum, opNeNum), rv.num
		default:
			return errorf("invalid value %s for operator '%s', expect a string, a number or null", rv.describe(), name)
		}
	case ">", ">=", "<", "<=":
		n.op = map[string]op{">": opGt, ">=": opGe, "<": opLt, "<=": opLe}[name]
		switch rv.kind {
		case kNumber:
			n.num = rv.num
		case kString:
			f, ok := luaToNumber(rv.str)
			if !ok {
				return errorf("invalid value %s for operator '%s', expect a number", rv.describe(), name)
			}
			n.num = f
		default:
			return errorf("invalid value %s for operator '%s', expect a number", rv.describe(), name)
		}
		if math.IsNaN(n.num) {
			return errorf("invalid value %s for operator '%s', expect a number", rv.describe(), name)
		}
	case "~~", "~*":
		if rv.kind != kString {
			return errorf("invalid value %s for operator '%s', expect a regular expression string", rv.describe(), name)
		}
		re, err := compileRegex(rv.str, name == "~*")
		if err != nil {
			return errorf("invalid regex %s for operator '%s': %v", strconv.Quote(rv.str), name, err)
		}
		n.op, n.re = opRegex, re
	case "in":
		if rv.kind != kList {
			return errorf("invalid value %s for operator 'in', expect an array of strings and numbers", rv.describe())
		}
		n.op = opIn
		for _, x := range rv.list {
			e := classify(x)
			switch e.kind {
			case kString:
				n.strs = append(n.strs, e.str)
			case kNumber:
				n.nums = append(n.nums, e.num)
			default:
				return errorf("invalid element %s in the value of operator 'in', expect a string or a number", e.describe())
			}
		}
		if len(n.strs) >= inSetMin {
			n.strSet = make(map[string]struct{}, len(n.strs))
			for _, s := range n.strs {
				n.strSet[s] = struct{}{}
			}
			n.strs = nil
		}
	case "has":
		n.op = opHas
		switch rv.kind {
		case kString:
			n.str = rv.str
		case kNumber:
			n.num, n.hasNum = rv.num, true
		default:
			return errorf("invalid value %s for operator 'has', expect a string or a number", rv.describe())
		}
	case "ipmatch":
		n.op = opIPMatch
		var entries []any
		switch {
		case rv.kind == kNull, rv.kind == kString && rv.str == "", rv.kind == kBool && rv.raw == false:
			return errorf("invalid ip address")
		case rv.kind == kList:
			entries = rv.list
		case rv.kind == kObject:
			return errorf("invalid ip address")
		default:
			entries = []any{rv.raw}
		}
		if len(entries) == 0 {
			return errorf("invalid ip address")
		}
		for _, x := range entries {
			e := classify(x)
			if e.kind != kString {
				return errorf("invalid ip address: %s", e.describe())
			}
			p, ok := parsePrefix(e.str)
			if !ok {
				return errorf("invalid ip address: %s", e.str)
			}
			n.prefixes = append(n.prefixes, p)
		}
	}
	return nil
}

func pick(cond bool, a, b op) op {
	if cond {
		return a
	}
	return b
}

// parsePrefix parses an ipmatch entry: an IPv4 or IPv6 address (IPv6
// optionally in brackets), optionally followed by /bits. A host is a
// full-length prefix; host bits of a prefix are ignored, as lua-resty-
// ipmatcher does ("127.0.0.1/16" is 127.0.0.0/16).
func parsePrefix(s string) (netip.Prefix, bool) {
	addrPart, bitsPart, hasBits := strings.Cut(s, "/")
	bracket := len(addrPart) >= 2 && addrPart[0] == '[' && addrPart[len(addrPart)-1] == ']'
	if bracket {
		addrPart = addrPart[1 : len(addrPart)-1]
	}
	addr, err := netip.ParseAddr(addrPart)
	if err != nil || addr.Zone() != "" || (bracket && !addr.Is6()) {
		return netip.Prefix{}, false
	}
	bits := addr.BitLen()
	if hasBits {
		if bitsPart == "" || len(bitsPart) > 3 {
			return netip.Prefix{}, false
		}
		b := 0
		for i := 0; i < len(bitsPart); i++ {
			if !isDigit(bitsPart[i]) {
				return netip.Prefix{}, false
			}
			b = b*10 + int(bitsPart[i]-'0')
		}
		if b > addr.BitLen() {
			return netip.Prefix{}, false
		}
		bits = b
	}
	p, err := addr.Prefix(bits)
	if err != nil {
		return netip.Prefix{}, false
	}
	return p, true
}
