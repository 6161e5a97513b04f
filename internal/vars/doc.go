// Package vars compiles and evaluates APISIX `vars` expressions: the
// request conditions of a route's `vars`, of a plugin's `_meta.filter` and
// of traffic-split's `match`.
//
// # Why this package exists
//
// APISIX evaluates these expressions with api7/lua-resty-expr (v1). Configs
// are moved between APISIX and Stargate unchanged, so an expression must
// mean the same thing here: the same operators, the same treatment of a
// missing variable, the same number-versus-string comparisons, the same
// logical nesting. This package reproduces that library's semantics and,
// where it has them, its error messages (prefixed, as APISIX's admin API
// does, with "failed to validate the 'vars' expression: ").
//
// # Compile once, no per-request work
//
// [Compile] does everything that does not depend on a request: it checks the
// whole expression (operators, arity, operand types), compiles regular
// expressions, parses numeric operands and IP/CIDR lists into
// [net/netip.Prefix] values, and builds a tree of small nodes. An invalid
// expression is rejected when the config is written, not discovered on the
// first request that reaches it (lua-resty-expr compiles regexes and parses
// numbers on every evaluation and, for a bad regex, silently fails the match
// at request time). The compiled [Expr] is immutable and safe for concurrent
// use; [Expr.Match] only reads variables through [Vars] and does not
// allocate on its common paths, in line with "compile once, swap
// atomically, no per-request setup" (DESIGN.md §9).
//
// # Grammar
//
//	rule     = []                         -- matches everything
//	         | [ node, node, ... ]        -- AND of the nodes
//	         | [ LOGIC, node, node, ... ] -- LOGIC is AND, OR, !AND, !OR (any case),
//	                                      -- at least two nodes
//	node     = rule | expr
//	expr     = [ var, op, value ] | [ var, "!", op, value ] | [ var, value ]
//
// [var, value] is lua-resty-expr's compatibility form of [var, "==", value];
// like Lua, the value is lower-cased (it passed through the operator's
// string.lower), so ["arg_k", "V"] matches only "v".
//
// Operators (case-insensitive): == ~= > >= < <= ~~ ~* in has ipmatch.
//
//   - == and ~= compare strings exactly. With a number operand the variable
//     is converted with Lua's tonumber and compared numerically ("18.0",
//     " 18", "0x12" all equal 18); an unconvertible variable is unequal.
//     With a null operand they test absence: [var, "==", null] is true when
//     the variable is unset, [var, "~=", null] when it is set.
//   - > >= < <= convert both sides with tonumber; false when either is not a
//     number (so a missing variable is false). The operand must be a number
//     or a numeric string.
//   - ~~ and ~* are an unanchored regex search (ngx.re.find "jo" / "joi");
//     false on a missing variable.
//   - in: the operand is an array of strings and numbers; true when the
//     variable equals one of them (numbers compare as with ==).
//   - has: true when a list-valued variable (see [ListVars]) contains the
//     operand. A plain string variable never "has" anything, as in Lua: no
//     comma splitting.
//   - ipmatch: the operand is an IP, a CIDR, or an array of them (IPv4 and
//     IPv6); true when the variable parses as an address inside one of them.
//   - "!" negates the result of the operator, including on a missing
//     variable: [var, "!", "~~", re] is true when var is unset.
//
// # Where Stargate deliberately differs from lua-resty-expr
//
//   - Compile rejects what Lua accepts but can only fail or misbehave at
//     request time: regexes that do not compile (Lua: never match, logged per
//     request), a non-string variable name or operator (Lua: runtime error),
//     ordered comparisons with a non-numeric operand (Lua: always false), an
//     "in" operand that is not an array of strings/numbers or a "has" operand
//     that is not a string/number (Lua: always false), ==/~= with a boolean,
//     array or object operand (Lua: constant result), more than four
//     elements in an expression (Lua: extra elements ignored), an ipmatch
//     entry with an empty, non-decimal or out-of-range prefix length (Lua's
//     ipmatcher treats "10.0.0.1/" as a host and misbehaves above /32), and
//     IPv6 zones. A JSON object where a rule is expected is rejected, except
//     an empty top-level {} which, as in APISIX, matches everything.
//   - Numbers inside an "in" array (and a numeric "has" operand) compare
//     numerically with the variable, like ==. In Lua a request variable is a
//     string and never equals a number, so ["arg_id", "in", [1, 2]] could
//     never match there; here it matches "1" and "2".
//   - Regexes use Go's RE2 syntax (package regexp) instead of PCRE. Not
//     supported, and rejected at compile time: backreferences (\1),
//     lookahead/lookbehind ((?=, (?!, (?<=, (?<!), atomic groups ((?>),
//     possessive quantifiers (a++), recursion, conditionals, \Z, \h, \R, \K,
//     (?x) extended mode, and repeat counts above 1000. Accepted with slightly
//     different meaning: $ matches only at the very end (PCRE also before a
//     final "\n"); . and character classes work on UTF-8 characters rather
//     than bytes; ~* folds case by Unicode rules. RE2 has no catastrophic
//     backtracking, so every regex runs in linear time.
//   - Nesting is limited to [MaxDepth] levels.
//   - A nil rule (an absent `vars`) compiles to an expression that matches
//     everything (lua-resty-expr returns "missing argument rule"; APISIX never
//     calls it then).
package vars
