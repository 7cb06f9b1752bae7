package resources

import (
	"context"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/vmservice/vmservice/recording"
	"github.com/vmservice/vmservice/sandbox"
	"github.com/vmservice/vmservice/tools/toolkit"
)

// RegisterRecordings adds the recordings resources (the videos themselves
// are files of the sandbox: toolkit.FileURI, or read_file). The trajectory comes
// from the server's own copy, which the sandbox cannot rewrite.
func RegisterRecordings(s *server.MCPServer, env *toolkit.Env, rs *recording.Service) {
	s.AddResourceTemplate(mcp.NewResourceTemplate(toolkit.RecordingsTemplate, "recordings",
		mcp.WithTemplateTitle("Recordings of a sandbox"),
		mcp.WithTemplateDescription("JSON list of a sandbox's recordings (the one in progress last): state, video and trajectory paths, length, size, calls."),
		mcp.WithTemplateMIMEType("application/json")),
		func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			sb, err := lookup(ctx, env, req)
			if err != nil {
				return nil, err
			}
			list := rs.List(sb.ID())
			if list == nil {
				list = []recording.Info{}
			}
			return jsonContents(req.Params.URI, map[string]any{"recordings": list, "count": len(list)})
		})

	s.AddResourceTemplate(mcp.NewResourceTemplate(toolkit.TrajectoryTemplate, "trajectory",
		mcp.WithTemplateTitle("Trajectory of a recording"),
		mcp.WithTemplateDescription("Every tool call made on the sandbox while it was recorded, one JSON object per line: seq, time, tool, arguments, duration_ms, is_error, error_code, result, video_time_s, frame."),
		mcp.WithTemplateMIMEType("application/jsonl")),
		func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			sb, err := lookup(ctx, env, req)
			if err != nil {
				return nil, err
			}
			ids := argStrings(req.Params.Arguments["recording_id"])
			if len(ids) != 1 {
				return nil, sandbox.InvalidArgument("recording_id", "the URI names no recording")
			}
			data, _, err := rs.Trajectory(sb.ID(), ids[0])
			if err != nil {
				return nil, err
			}
			return []mcp.ResourceContents{mcp.TextResourceContents{URI: req.Params.URI, MIMEType: "application/jsonl", Text: string(data)}}, nil
		})
}
