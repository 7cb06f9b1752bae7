package tools

import (
	"context"
	"encoding/base64"
	"fmt"
	"unicode/utf8"

	"github.com/vmservice/vmservice/sandbox"
	"github.com/vmservice/vmservice/tools/toolkit"
)

// SetFiles: files inside a sandbox.
const SetFiles = "files"

var _ = register(SetFiles, writeFile, readFile, listFiles, openFile)

// WriteFileArgs are write_file's arguments.
type WriteFileArgs struct {
	SandboxRef
	Path     toolkit.Path `json:"path" jsonschema:"minLength=1,maxLength=4096" jsonschema_description:"Sandbox path (~ is /home/user); parent directories are created."`
	Content  string       `json:"content" jsonschema_description:"File content: text, or base64 when encoding is base64."`
	Encoding string       `json:"encoding,omitempty" jsonschema:"enum=utf-8,enum=base64,default=utf-8" jsonschema_description:"utf-8 text, or base64 for binary data."`
}

// WriteFileResult says what was written.
type WriteFileResult struct {
	Path string `json:"path"`
	Size int    `json:"size" jsonschema_description:"Bytes written."`
}

// ReadFileArgs are read_file's arguments.
type ReadFileArgs struct {
	SandboxRef
	Path     toolkit.Path `json:"path" jsonschema:"minLength=1,maxLength=4096" jsonschema_description:"Sandbox path (~ is /home/user)."`
	Encoding string       `json:"encoding,omitempty" jsonschema:"enum=utf-8,enum=base64" jsonschema_description:"Default: utf-8 for valid UTF-8 text, else base64."`
}

// ReadFileResult is a file's content, sent once: a text file's text is
// the text block, binary data (base64) the structured content's content.
type ReadFileResult struct {
	Path     string `json:"path"`
	Content  string `json:"content,omitempty" jsonschema_description:"base64 only: the data (a text file's text is the text block)."`
	Encoding string `json:"encoding" jsonschema:"enum=utf-8,enum=base64"`
	Size     int    `json:"size" jsonschema_description:"Bytes in the file."`

	text string
}

// Text is the text itself when it is text.
func (r ReadFileResult) Text() string {
	if r.Encoding == "utf-8" {
		return r.text
	}
	return fmt.Sprintf("%s: %d bytes of binary data (base64 in structured content)", r.Path, r.Size)
}

// OpenArgs are open_file's arguments.
type OpenArgs struct {
	PathArgs
	WaitArg
}

// OpenResult is open_file's answer.
type OpenResult struct {
	OK bool `json:"ok"`
	NewWindow
}

// Text is the short text block.
func (r OpenResult) Text() string { return "opened" + r.NewWindow.text() }

// PathArgs are list_files's arguments.
type PathArgs struct {
	SandboxRef
	Path toolkit.Path `json:"path" jsonschema:"minLength=1,maxLength=4096" jsonschema_description:"Sandbox path (~ is /home/user)."`
}

// ListFilesResult is a directory listing.
type ListFilesResult struct {
	Path    string              `json:"path"`
	Entries []sandbox.FileEntry `json:"entries"`
}

// Text is the short text block.
func (r ListFilesResult) Text() string {
	s := fmt.Sprintf("%s: %d entries", r.Path, len(r.Entries))
	for i, e := range r.Entries {
		if i == 200 {
			s += "\n..."
			break
		}
		s += fmt.Sprintf("\n%s\t%s\t%d", e.Type, e.Name, e.Size)
	}
	return s
}

func writeFile(tb *Toolbox) *Tool {
	return toolkit.DefineOn(tb.Env, toolkit.Spec{Name: "write_file", Title: "Write file",
		Description: "Create or overwrite a file inside the sandbox with text or base64-encoded binary content.",
		Hints:       toolkit.Hints{ReadOnly: false, Destructive: true, Idempotent: true, OpenWorld: false}},
		func(ctx context.Context, sb *sandbox.Sandbox, a *WriteFileArgs) (WriteFileResult, error) {
			data := []byte(a.Content)
			switch a.Encoding {
			case "", "utf-8", "utf8":
			case "base64":
				var err error
				if data, err = base64.StdEncoding.DecodeString(a.Content); err != nil {
					return WriteFileResult{}, sandbox.InvalidArgument("content", "content is not valid base64")
				}
			default:
				return WriteFileResult{}, sandbox.InvalidArgument("encoding", "encoding must be utf-8 or base64, got %q", a.Encoding)
			}
			if err := sb.Instance().WriteFile(ctx, string(a.Path), data); err != nil {
				return WriteFileResult{}, err
			}
			return WriteFileResult{Path: string(a.Path), Size: len(data)}, nil
		})
}

func readFile(tb *Toolbox) *Tool {
	return toolkit.DefineOn(tb.Env, toolkit.Spec{Name: "read_file", Title: "Read file",
		Description: "Read a file from inside the sandbox: a text file's text is the answer's text; binary data comes base64 in content.",
		Hints:       toolkit.Hints{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: false}},
		func(ctx context.Context, sb *sandbox.Sandbox, a *ReadFileArgs) (ReadFileResult, error) {
			data, err := tb.ReadFile(ctx, sb, string(a.Path))
			if err != nil {
				return ReadFileResult{}, err
			}
			enc := a.Encoding
			switch enc {
			case "":
				enc = "utf-8"
				if !utf8.Valid(data) {
					enc = "base64"
				}
			case "utf8":
				enc = "utf-8"
			case "utf-8", "base64":
			default:
				return ReadFileResult{}, sandbox.InvalidArgument("encoding", "encoding must be utf-8 or base64, got %q", a.Encoding)
			}
			if enc == "utf-8" && !utf8.Valid(data) {
				return ReadFileResult{}, sandbox.InvalidArgument("encoding", "the file is not valid UTF-8 text; read it with encoding base64")
			}
			out := ReadFileResult{Path: string(a.Path), Encoding: enc, Size: len(data), text: string(data)}
			if enc == "base64" {
				out.Content = base64.StdEncoding.EncodeToString(data)
			}
			return out, nil
		})
}

func listFiles(tb *Toolbox) *Tool {
	return toolkit.DefineOn(tb.Env, toolkit.Spec{Name: "list_files", Title: "List files",
		Description: "List a directory inside the sandbox: name, path, type, size and modification time of each entry.",
		Hints:       toolkit.Hints{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: false}},
		func(ctx context.Context, sb *sandbox.Sandbox, a *PathArgs) (ListFilesResult, error) {
			ents, err := sb.Instance().ListFiles(ctx, string(a.Path))
			if err != nil {
				return ListFilesResult{}, err
			}
			if ents == nil {
				ents = []sandbox.FileEntry{}
			}
			return ListFilesResult{Path: string(a.Path), Entries: ents}, nil
		})
}

func openFile(tb *Toolbox) *Tool {
	return toolkit.DefineOn(tb.Env, toolkit.Spec{Name: "open_file", Title: "Open file",
		Description: "Open a file with its default application (editor, browser, ...); answers once the window is up and the screen still.",
		Hints:       toolkit.Hints{ReadOnly: false, Destructive: false, Idempotent: false, OpenWorld: false}},
		func(ctx context.Context, sb *sandbox.Sandbox, a *OpenArgs) (OpenResult, error) {
			w, err := newWindow(ctx, sb, a.Wait == nil || *a.Wait, func() error { return sb.Instance().OpenFile(ctx, string(a.Path)) })
			if err != nil {
				return OpenResult{}, err
			}
			return OpenResult{OK: true, NewWindow: w}, nil
		})
}
