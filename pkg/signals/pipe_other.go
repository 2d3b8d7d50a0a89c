//go:build !unix

package signals

func ignoreBrokenPipe() {}
