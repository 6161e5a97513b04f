package upstream

// FNV-1a 64, fed string by string so that a key made of several request
// values (vars_combinations) is hashed without building it, then finished
// with murmur3's fmix64 so that similar keys spread over the whole ring.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvAdd(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

func fnvAddBytes(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

func fmix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

func hashString(s string) uint64 { return fmix64(fnvAdd(fnvOffset, s)) }

// segment is one piece of a vars_combinations template: literal text or a
// variable name.
type segment struct {
	s     string
	isVar bool
}

// parseTemplate splits "$host$uri", "${host}-x" and friends the way nginx
// and APISIX core.utils.resolve_var do: `$` followed by [A-Za-z0-9_]+ or by
// {name} is a variable; anything else is literal.
func parseTemplate(t string) []segment {
	var segs []segment
	lit := make([]byte, 0, len(t))
	flush := func() {
		if len(lit) > 0 {
			segs = append(segs, segment{s: string(lit)})
			lit = lit[:0]
		}
	}
	for i := 0; i < len(t); {
		c := t[i]
		if c != '$' || i+1 >= len(t) {
			lit = append(lit, c)
			i++
			continue
		}
		if t[i+1] == '{' {
			end := i + 2
			for end < len(t) && t[end] != '}' {
				end++
			}
			if end < len(t) && end > i+2 {
				flush()
				segs = append(segs, segment{s: t[i+2 : end], isVar: true})
				i = end + 1
				continue
			}
			lit = append(lit, c)
			i++
			continue
		}
		end := i + 1
		for end < len(t) && isVarChar(t[end]) {
			end++
		}
		if end == i+1 {
			lit = append(lit, c)
			i++
			continue
		}
		flush()
		segs = append(segs, segment{s: t[i+1 : end], isVar: true})
		i = end
	}
	flush()
	return segs
}

func isVarChar(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
