package abi

import "strings"

// PathSeparator joins the segments of a property path.
const PathSeparator = "\x00"

// JoinPath joins property path segments with PathSeparator, without a
// trailing separator: JoinPath("request", "path") is "request\x00path".
func JoinPath(segments ...string) string { return strings.Join(segments, PathSeparator) }

// SplitPath splits a property path into its segments. The empty path has no
// segments.
func SplitPath(path string) []string {
	if path == "" {
		return nil
	}
	return strings.Split(path, PathSeparator)
}
