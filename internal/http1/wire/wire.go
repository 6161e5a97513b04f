// Package wire holds the HTTP/1.1 syntax the listener (http1/server) and
// the upstream client (http1/client) both parse and write: request
// targets, optional whitespace, Content-Length values, chunk-size lines,
// and field names and values (field.go: checks, canonical keys, the
// hop-by-hop fields and the Connection field's tokens). One
// implementation keeps the two sides equally strict: a parser that is
// lenient on one side only is how request smuggling starts. Token lists
// in field values (HeaderValuesContainsToken) still come from
// golang.org/x/net/http/httpguts.
package wire

// FieldByte reports whether c may appear in a field value or a reason
// phrase: VCHAR, obs-text, SP and HTAB (RFC 9110 section 5.5).
func FieldByte(c byte) bool { return c >= 0x20 && c != 0x7f || c == '\t' }

// ValidTarget refuses controls, spaces and DEL, which would break a
// request line.
func ValidTarget(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// TrimOWS removes optional whitespace (SP, HTAB) at both ends.
func TrimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// ParseLength parses one Content-Length element: 1 to 18 digits, no sign,
// no whitespace (callers trim and split lists).
func ParseLength(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// ParseChunkSize parses a chunk-size line without its CRLF:
// "HEX[OWS][;ext]". Extensions are ignored but may hold no controls, and
// anything else after the size is refused: lenient chunk parsing is a
// classic smuggling vector.
func ParseChunkSize(line []byte) (int64, bool) {
	var size int64
	i := 0
	for ; i < len(line); i++ {
		c := line[i]
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			goto rest
		}
		if size >= 1<<58 {
			return 0, false // would overflow
		}
		size = size<<4 | int64(d)
	}
rest:
	if i == 0 {
		return 0, false
	}
	line = line[i:]
	for len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
		line = line[1:]
	}
	if len(line) > 0 && line[0] != ';' {
		return 0, false
	}
	for _, c := range line {
		if !FieldByte(c) {
			return 0, false
		}
	}
	return size, true
}
