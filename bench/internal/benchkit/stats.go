package benchkit

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// Median is the median of xs (the mean of the middle two for an even
// count); 0 for none. Reports give medians over rounds, which one noisy
// round does not move.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Percentile is the nearest-rank percentile p (0..100) of sorted
// durations; 0 for none.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.999999) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

// Num formats x with prec decimals, with thousands separators when prec
// is 0 and |x| ≥ 1000, for readable report tables.
func Num(x float64, prec int) string {
	s := fmt.Sprintf("%.*f", prec, x)
	if prec == 0 && (x >= 1000 || x <= -1000) {
		neg := strings.HasPrefix(s, "-")
		s = strings.TrimPrefix(s, "-")
		var b strings.Builder
		for i, c := range s {
			if i > 0 && (len(s)-i)%3 == 0 {
				b.WriteByte(',')
			}
			b.WriteRune(c)
		}
		if neg {
			return "-" + b.String()
		}
		return b.String()
	}
	return s
}

// Verdict is how a report states whether a goal was met.
func Verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// CommandLine is the command that reproduces this run, for the report:
// run (e.g. "go run ./bench/proxy") followed by this process's arguments,
// quoted where they hold blanks or quotes.
func CommandLine(run string) string {
	args := []string{run}
	for _, a := range os.Args[1:] {
		if strings.ContainsAny(a, " \t'\"") {
			a = "'" + a + "'"
		}
		args = append(args, a)
	}
	return strings.Join(args, " ")
}
