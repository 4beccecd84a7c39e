package httpapi

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/jifen/jifen/internal/store"
)

type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// newMetrics registers the API's metrics on reg: requests and their
// latency by route pattern (never by raw path, so the label set stays
// bounded), the database pools and the group-commit writer.
func newMetrics(reg *prometheus.Registry, db *store.DB) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jifen_http_requests_total", Help: "HTTP requests by route and status.",
		}, []string{"route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "jifen_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.latency)
	if db != nil {
		read, write := db.SQL()
		reg.MustRegister(collectors.NewDBStatsCollector(read, "read"))
		if write != read {
			reg.MustRegister(collectors.NewDBStatsCollector(write, "write"))
		}
		if rp := db.ReplicaSQL(); rp != nil {
			reg.MustRegister(collectors.NewDBStatsCollector(rp, "replica"))
			reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "jifen_replica_up", Help: "1 while lists and reports read from the replica, 0 while they fall back to the primary.",
			}, func() float64 {
				if _, up, _ := db.ReplicaStatus(); up {
					return 1
				}
				return 0
			}))
			reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "jifen_replica_lag_bytes", Help: "WAL bytes the replica had yet to replay at its last check.",
			}, func() float64 { _, _, lag := db.ReplicaStatus(); return float64(lag) }))
		}
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "jifen_writer_batches_total", Help: "Write transactions committed by the group-commit writer.",
		}, func() float64 { b, _ := db.WriterStats(); return float64(b) }))
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "jifen_writer_operations_total", Help: "Write operations committed by the group-commit writer.",
		}, func() float64 { _, o := db.WriterStats(); return float64(o) }))
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "jifen_writer_statements_total", Help: "SQL statements run by the writer's transactions.",
		}, func() float64 { return float64(db.WriterStatements()) }))
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "jifen_writer_reruns_total", Help: "Batches run again with a savepoint per operation after one of them failed.",
		}, func() float64 { return float64(db.WriterReruns()) }))
	}
	return m
}

func (m *metrics) observe(route string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}
