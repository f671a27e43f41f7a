// Reads one YAML document on stdin with sigs.k8s.io/yaml (go-yaml v2 rules, exactly what kubectl
// and the API server use) and prints it as JSON, so tests can compare what Go sees with what
// apply-defaults meant.
package main

import (
	"fmt"
	"io"
	"os"

	"sigs.k8s.io/yaml"
)

func main() {
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	out, err := yaml.YAMLToJSON(in)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Stdout.Write(out)
}
