package server

import (
	"fmt"
	"regexp"

	"github.com/twmb/franz-go/pkg/kerr"
)

func fmtAny(v any) string { return fmt.Sprint(v) }

func code(err *kerr.Error) int16 {
	if err == nil {
		return 0
	}
	return err.Code
}

var legalTopic = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)

// validTopic applies Kafka's topic name rules (and reserves the gateway's internal prefix).
func validTopic(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("topic name is empty")
	case name == "." || name == "..":
		return fmt.Errorf("topic name cannot be %q", name)
	case len(name) > 249:
		return fmt.Errorf("topic name is %d characters, the limit is 249", len(name))
	case !legalTopic.MatchString(name):
		return fmt.Errorf("topic name %q contains characters other than ASCII alphanumerics, '.', '_' and '-'", name)
	case len(name) >= 5 && name[:5] == "__kop":
		return fmt.Errorf("topic names starting with __kop are reserved")
	}
	return nil
}
