// Package resources exposes sandboxes as MCP resources: the caller's
// sandbox list, one sandbox's info, its current screen (PNG), its UI as
// text (the accessibility snapshot) and files inside it. Every read goes through the same tenancy check as the tools
// (toolkit.Env), and the screen through the same pipeline (sandbox/capture).
package resources

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/vmservice/vmservice/driver/imgenc"
	"github.com/vmservice/vmservice/sandbox"
	"github.com/vmservice/vmservice/sandbox/capture"
	"github.com/vmservice/vmservice/tools/toolkit"
)

// URIs of the resources.
const (
	ListURI        = "vmservice://sandboxes"
	InfoTemplate   = "vmservice://sandboxes/{sandbox_id}"
	ScreenTemplate = "vmservice://sandboxes/{sandbox_id}/screen"
	UITemplate     = "vmservice://sandboxes/{sandbox_id}/ui"
	FileTemplate   = toolkit.FileTemplate
)

// Register adds the resources to s.
func Register(s *server.MCPServer, env *toolkit.Env) {
	s.AddResource(mcp.NewResource(ListURI, "sandboxes",
		mcp.WithResourceTitle("Your sandboxes"),
		mcp.WithResourceDescription("JSON list of your live sandboxes (same fields as get_sandbox_info)."),
		mcp.WithMIMEType("application/json")),
		func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			infos := env.Manager.List(toolkit.Principal(ctx).ID)
			return jsonContents(req.Params.URI, map[string]any{"sandboxes": infos, "count": len(infos)})
		})

	s.AddResourceTemplate(mcp.NewResourceTemplate(InfoTemplate, "sandbox",
		mcp.WithTemplateTitle("Sandbox info"),
		mcp.WithTemplateDescription("JSON description of one of your sandboxes."),
		mcp.WithTemplateMIMEType("application/json")),
		func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			sb, err := lookup(ctx, env, req)
			if err != nil {
				return nil, err
			}
			return jsonContents(req.Params.URI, sb.Info())
		})

	s.AddResourceTemplate(mcp.NewResourceTemplate(ScreenTemplate, "screen",
		mcp.WithTemplateTitle("Sandbox screen"),
		mcp.WithTemplateDescription("The sandbox's current screen as a PNG image."),
		mcp.WithTemplateMIMEType(imgenc.PNG.MIME())),
		func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			sb, err := lookup(ctx, env, req)
			if err != nil {
				return nil, err
			}
			img, err := capture.Take(ctx, sb, capture.Shot{})
			if err != nil {
				return nil, sandbox.AsError(err)
			}
			return []mcp.ResourceContents{mcp.BlobResourceContents{URI: req.Params.URI, MIMEType: img.MIME(),
				Blob: base64.StdEncoding.EncodeToString(img.Data)}}, nil
		})

	s.AddResourceTemplate(mcp.NewResourceTemplate(UITemplate, "ui",
		mcp.WithTemplateTitle("Sandbox UI"),
		mcp.WithTemplateDescription("The sandbox's desktop as text from its accessibility tree, as ui_snapshot gives it (refs usable with act_on_element)."),
		mcp.WithTemplateMIMEType("text/plain")),
		func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			sb, err := lookup(ctx, env, req)
			if err != nil {
				return nil, err
			}
			acc, err := sb.Accessibility()
			if err != nil {
				return nil, err
			}
			snap, err := acc.A11ySnapshot(ctx, sandbox.A11yQuery{})
			if err != nil {
				return nil, sandbox.AsError(err)
			}
			return []mcp.ResourceContents{mcp.TextResourceContents{URI: req.Params.URI, MIMEType: "text/plain; charset=utf-8", Text: snap.Text}}, nil
		})

	s.AddResourceTemplate(mcp.NewResourceTemplate(FileTemplate, "file",
		mcp.WithTemplateTitle("File in a sandbox"),
		mcp.WithTemplateDescription("A file inside one of your sandboxes, by absolute path: vmservice://sandboxes/{sandbox_id}/files/home/user/notes.txt. Text comes back as text, anything else as a blob.")),
		func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			sb, err := lookup(ctx, env, req)
			if err != nil {
				return nil, err
			}
			p := "/" + strings.Join(argStrings(req.Params.Arguments["path"]), "/")
			data, err := env.ReadFile(ctx, sb, path.Clean(p))
			if err != nil {
				return nil, sandbox.AsError(err)
			}
			mt := mime.TypeByExtension(path.Ext(p))
			if utf8.Valid(data) {
				if mt == "" {
					mt = "text/plain; charset=utf-8"
				}
				return []mcp.ResourceContents{mcp.TextResourceContents{URI: req.Params.URI, MIMEType: mt, Text: string(data)}}, nil
			}
			if mt == "" {
				mt = "application/octet-stream"
			}
			return []mcp.ResourceContents{mcp.BlobResourceContents{URI: req.Params.URI, MIMEType: mt,
				Blob: base64.StdEncoding.EncodeToString(data)}}, nil
		})
}

func lookup(ctx context.Context, env *toolkit.Env, req mcp.ReadResourceRequest) (*sandbox.Sandbox, error) {
	ids := argStrings(req.Params.Arguments["sandbox_id"])
	if len(ids) != 1 {
		return nil, sandbox.InvalidArgument("sandbox_id", "the URI names no sandbox")
	}
	sb, err := env.Sandbox(ctx, ids[0])
	if err != nil {
		return nil, sandbox.AsError(err)
	}
	return sb, nil
}

// argStrings normalises a template variable (string or list of strings).
func argStrings(v any) []string {
	switch x := v.(type) {
	case string:
		if x == "" {
			return nil
		}
		return []string{x}
	case []string:
		return x
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

func jsonContents(uri string, v any) ([]mcp.ResourceContents, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, sandbox.AsError(err)
	}
	return []mcp.ResourceContents{mcp.TextResourceContents{URI: uri, MIMEType: "application/json", Text: string(b)}}, nil
}
