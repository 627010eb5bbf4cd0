package bench

import (
	"runtime"
	"time"

	"github.com/kop-conformance/kop-conformance/bench/report"
)

// Report assembles the run's report from its workloads' rounds; the wall time runs from
// c.Started to now.
func Report(c Config, img Images, ws []report.Workload, series []report.Series, notes []string, planned time.Duration, now time.Time) *report.Report {
	r := &report.Report{
		SchemaVersion: report.SchemaVersion,
		GeneratedAt:   now.UTC(),
		Host:          report.Host{CPUs: runtime.NumCPU(), OS: runtime.GOOS, Arch: runtime.GOARCH, GoVersion: runtime.Version()},
		Images:        map[string]string{},
		Settings: report.Settings{Mode: c.Mode, Rounds: c.Rounds, WarmupSeconds: c.Warmup.Seconds(), CatchUpSeconds: c.CatchUp.Seconds(),
			SettleSeconds: c.Settle.Seconds(), WindowRecords: c.WindowRecords, WindowBytes: c.WindowBytes,
			BudgetSeconds: c.Budget.Seconds(), EstimateSeconds: planned.Seconds()},
		WallSeconds: now.Sub(c.Started).Seconds(),
		WallFrom:    c.StartedFrom,
		Workloads:   ws,
		Series:      series,
		Notes:       notes,
	}
	for k, v := range map[string]string{"pulsar": img.Pulsar, "reference": img.Reference, "kafka": img.Kafka} {
		if v != "" {
			r.Images[k] = v
		}
	}
	r.Finish()
	return r
}

// Failed counts the rounds that ran and failed.
func Failed(ws []report.Workload) int {
	n := 0
	for _, w := range ws {
		for _, rd := range w.Rounds {
			if rd.Error != "" {
				n++
			}
		}
	}
	return n
}
