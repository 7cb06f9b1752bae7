package toolkit

// Resource URIs that tools name in their results and resources/ serves
// (both import this package; tools never import resources).
const (
	RecordingsTemplate = "vmservice://sandboxes/{sandbox_id}/recordings"
	TrajectoryTemplate = "vmservice://sandboxes/{sandbox_id}/recordings/{recording_id}/trajectory"
	FileTemplate       = "vmservice://sandboxes/{sandbox_id}/files{/path*}"
)

// TrajectoryURI is the trajectory resource of a recording.
func TrajectoryURI(sandboxID, recordingID string) string {
	return "vmservice://sandboxes/" + sandboxID + "/recordings/" + recordingID + "/trajectory"
}

// FileURI is the file resource of an absolute sandbox path.
func FileURI(sandboxID, path string) string {
	return "vmservice://sandboxes/" + sandboxID + "/files" + path
}
