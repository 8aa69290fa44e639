package schemas

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestWireOnlyInSchemas keeps the rule of issue 13: no subject, message id or control verb is formatted
// or parsed outside this package. It reads every non-test Go file of the module outside schemas and
// fails, naming file and line, on what only a hand-made wire string looks like:
//   - a string literal that starts with "fact." (a subject or prefix spelled out);
//   - a concatenation with one of this package's prefixes (a subject or filter put together);
//   - a concatenation with a ":" literal and either a second ":" or a strconv call (a message id);
//   - a strings split, cut or index on "." or '.' of something named like a subject, or on ":" of
//     something named like an id (a subject or id taken apart);
//   - ControlSubject called with a literal verb instead of a Verb constant.
func TestWireOnlyInSchemas(t *testing.T) {
	for _, f := range wireViolations(t, "..") {
		t.Error(f)
	}
}

// TestWireGuardCatches proves the guard sees each pattern it claims to.
func TestWireGuardCatches(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "planted")
	src := `package planted

import (
	"strconv"
	"strings"

	"github.com/factstream/factstream/schemas"
)

func a(h string) string           { return "fact.in." + h }
func b(h string) string           { return schemas.RawPrefix + ".*." + h + ".>" }
func c(h, b string, n uint64) string { return h + ":" + b + ":" + strconv.FormatUint(n, 10) }
func d(subject string) int        { return strings.LastIndexByte(subject, '.') }
func e(msgID string) []string     { return strings.Split(msgID, ":") }
func f(h string) string           { return schemas.ControlSubject(h, "status") }
`
	if err := writeFile(filepath.Join(dir, "planted.go"), src); err != nil {
		t.Fatal(err)
	}
	got := wireViolations(t, dir)
	wantLines := []int{10, 11, 12, 13, 14, 15}
	if len(got) != len(wantLines) {
		t.Fatalf("the guard found %d violations in the planted file, want %d:\n%s", len(got), len(wantLines), strings.Join(got, "\n"))
	}
	for i, line := range wantLines {
		if !strings.Contains(got[i], "planted.go:"+strconv.Itoa(line)+":") {
			t.Errorf("violation %d = %q, want line %d", i, got[i], line)
		}
	}
}

// wireViolations lists "file:line: what" for every hand-made wire string under root, skipping this
// package, test files, testdata and hidden folders.
func wireViolations(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == "schemas" || name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		report := func(n ast.Node, what string) {
			p := fset.Position(n.Pos())
			out = append(out, p.Filename+":"+strconv.Itoa(p.Line)+": "+what+" (ask package schemas)")
		}
		seen := map[*ast.BinaryExpr]bool{} // the inner links of a + chain already looked at
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BasicLit:
				v, ok := stringValue(n)
				switch {
				case !ok:
				case strings.HasPrefix(v, "fact."):
					report(n, "a subject spelled out: "+n.Value)
				}
			case *ast.BinaryExpr:
				if n.Op != token.ADD || seen[n] {
					break
				}
				colons, numbers, prefixes := concatParts(n, seen)
				if prefixes > 0 {
					report(n, "a subject put together from a prefix")
				}
				if colons >= 2 || colons == 1 && numbers > 0 {
					report(n, "a message id put together")
				}

			case *ast.CallExpr:
				if what := wireCall(n); what != "" {
					report(n, what)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// stringValue is the value of a string or rune literal.
func stringValue(l *ast.BasicLit) (string, bool) {
	switch l.Kind {
	case token.STRING:
		v, err := strconv.Unquote(l.Value)
		return v, err == nil
	case token.CHAR:
		r, _, _, err := strconv.UnquoteChar(l.Value[1:len(l.Value)-1], '\'')
		return string(r), err == nil
	}
	return "", false
}

// concatParts counts, in a + chain, the ":" literals, the strconv calls and this package's prefixes.
func concatParts(e *ast.BinaryExpr, seen map[*ast.BinaryExpr]bool) (colons, numbers, prefixes int) {
	var walk func(ast.Expr)
	walk = func(x ast.Expr) {
		switch x := x.(type) {
		case *ast.BinaryExpr:
			if x.Op == token.ADD {
				seen[x] = true
				walk(x.X)
				walk(x.Y)
			}
		case *ast.ParenExpr:
			walk(x.X)
		case *ast.BasicLit:
			if v, ok := stringValue(x); ok && v == ":" {
				colons++
			}
		case *ast.CallExpr:
			if sel, ok := x.Fun.(*ast.SelectorExpr); ok && isIdent(sel.X, "strconv") {
				numbers++
			}
		case *ast.SelectorExpr:
			if isIdent(x.X, "schemas") && strings.HasSuffix(x.Sel.Name, "Prefix") && x.Sel.Name != "MsgIDPrefix" {
				prefixes++
			}
		}
	}
	walk(e)
	return colons, numbers, prefixes
}

// wireCall names what a call does by hand to the wire, or returns "".
func wireCall(c *ast.CallExpr) string {
	sel, ok := c.Fun.(*ast.SelectorExpr)
	if !ok {
		return ""
	}
	fn := sel.Sel.Name
	switch {
	case fn == "ControlSubject" && len(c.Args) == 2:
		if _, lit := c.Args[1].(*ast.BasicLit); lit {
			return "a control verb spelled out"
		}
	case isIdent(sel.X, "strings") && len(c.Args) >= 2:
		switch fn {
		case "Split", "SplitN", "SplitSeq", "SplitAfter", "Cut", "Index", "IndexByte", "LastIndex", "LastIndexByte":
		default:
			return ""
		}
		l, ok := c.Args[1].(*ast.BasicLit)
		if !ok {
			return ""
		}
		switch v, _ := stringValue(l); {
		case v == "." && namedLikeSubject(c.Args[0]):
			return "a subject taken apart with strings." + fn
		case v == ":" && namedLikeID(c.Args[0]):
			return "a message id taken apart with strings." + fn
		}
	}
	return ""
}

// namedLikeID reports whether x is a variable, field or call whose name says it holds a message id.
func namedLikeID(x ast.Expr) bool {
	var name string
	switch x := x.(type) {
	case *ast.Ident:
		name = x.Name
	case *ast.SelectorExpr:
		name = x.Sel.Name
	case *ast.CallExpr:
		return namedLikeID(x.Fun) || len(x.Args) == 1 && isMsgIDHeader(x.Args[0])
	default:
		return false
	}
	l := strings.ToLower(name)
	return l == "id" || strings.HasSuffix(l, "msgid") || strings.HasSuffix(name, "ID") || strings.HasSuffix(name, "Id")
}

// namedLikeSubject reports whether x is a variable, field or call whose name says it holds a subject.
func namedLikeSubject(x ast.Expr) bool {
	switch x := x.(type) {
	case *ast.Ident:
		return strings.Contains(strings.ToLower(x.Name), "subj")
	case *ast.SelectorExpr:
		return strings.Contains(strings.ToLower(x.Sel.Name), "subj")
	case *ast.CallExpr:
		return namedLikeSubject(x.Fun)
	}
	return false
}

// isMsgIDHeader reports whether x names the Nats-Msg-Id header.
func isMsgIDHeader(x ast.Expr) bool {
	if sel, ok := x.(*ast.SelectorExpr); ok {
		return sel.Sel.Name == "MsgIDHeader" || sel.Sel.Name == "MsgIdHdr"
	}
	l, ok := x.(*ast.BasicLit)
	return ok && l.Value == `"Nats-Msg-Id"`
}

func isIdent(x ast.Expr, name string) bool {
	id, ok := x.(*ast.Ident)
	return ok && id.Name == name
}

func writeFile(path, src string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(src), 0o644)
}
