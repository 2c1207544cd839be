//go:build unix && !linux

package replay

const mapPopulate = 0
