package sim

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
)

// WriteCSV writes three files into dir, which must exist:
//
//   - runs.csv: one row per run, one column per JSON field of Result, nested
//     fields flattened with "_" (latency_s_p50, ack_latency_s_n, ...);
//   - summary.csv: one row per strategy and TTL, the columns of Summary;
//   - latency_cdf.csv: strategy, ttl, seed, latency_s, fraction: one row per
//     delivered mail of each run, in order of latency, where fraction is the
//     share of the run's created mails delivered within latency_s (so the
//     last row of a run is its delivery ratio).
//
// Floats are written in the shortest form that reads back exactly; NaN
// and ±Inf are written as 0, as in the JSON.
func WriteCSV(dir string, r *Report) error {
	r = cleanReport(r)
	runs := make([]any, len(r.Runs))
	for i := range r.Runs {
		runs[i] = &r.Runs[i]
	}
	if err := writeStructCSV(filepath.Join(dir, runsCSVFile), reflect.TypeFor[Result](), runs); err != nil {
		return err
	}
	sums := reportSummaries(r)
	rows := make([]any, len(sums))
	for i := range sums {
		rows[i] = &sums[i]
	}
	if err := writeStructCSV(filepath.Join(dir, summaryCSVFile), reflect.TypeFor[Summary](), rows); err != nil {
		return err
	}

	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	cw.Write([]string{"strategy", "ttl", "seed", "latency_s", "fraction"})
	for i := range r.Runs {
		run := &r.Runs[i]
		if run.Created <= 0 {
			continue
		}
		ttl, seed := strconv.Itoa(run.TTL), strconv.FormatUint(run.Seed, 10)
		for k, l := range run.Latencies {
			cw.Write([]string{run.Strategy, ttl, seed, csvFloat(l), csvFloat(float64(k+1) / float64(run.Created))})
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("sim: latency_cdf.csv: %w", err)
	}
	return writeReportFile(filepath.Join(dir, latencyCSVFile), b.Bytes())
}

// csvColumn is one flattened field of a struct: its column name and the
// index path to it.
type csvColumn struct {
	name  string
	index []int
}

// csvColumns flattens the JSON-visible fields of the struct type t: a
// nested struct's fields become prefix_field columns.
func csvColumns(t reflect.Type, prefix string, index []int) []csvColumn {
	var out []csvColumn
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		idx := append(append([]int(nil), index...), i)
		if f.Type.Kind() == reflect.Struct {
			out = append(out, csvColumns(f.Type, prefix+name+"_", idx)...)
			continue
		}
		out = append(out, csvColumn{prefix + name, idx})
	}
	return out
}

// writeStructCSV writes a header of t's flattened columns and one row per
// element of rows (pointers to t).
func writeStructCSV(path string, t reflect.Type, rows []any) error {
	cols := csvColumns(t, "", nil)
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	head := make([]string, len(cols))
	for i, c := range cols {
		head[i] = c.name
	}
	cw.Write(head)
	rec := make([]string, len(cols))
	for _, row := range rows {
		v := reflect.ValueOf(row).Elem()
		for i, c := range cols {
			rec[i] = csvValue(v.FieldByIndex(c.index))
		}
		cw.Write(rec)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("sim: %s: %w", filepath.Base(path), err)
	}
	return writeReportFile(path, b.Bytes())
}

// csvValue formats one scalar field.
func csvValue(v reflect.Value) string {
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		return csvFloat(v.Float())
	default:
		return fmt.Sprint(v.Interface())
	}
}

// csvFloat formats f in the shortest decimal that reads back exactly,
// without an exponent; NaN and ±Inf become 0.
func csvFloat(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "0"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func writeReportFile(path string, b []byte) error {
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	return nil
}
