package taxi

import (
	"fmt"
	"math"
	"time"
)

// monthPlan is one year=/month= partition: how many rows it holds and the
// distribution of pickup times within it.
type monthPlan struct {
	year, month int
	days        int
	rows        int64
	// firstWeekday is the weekday of the 1st of the month.
	firstWeekday time.Weekday
	// startMicros is midnight on the 1st as microseconds since 1970-01-01,
	// reading the wall-clock time as if it were UTC (the TLC timestamps are
	// naive New York local times, so there is no DST gap or overlap).
	startMicros int64
	// cdf[i] is the share of the month's pickups before hour-bin i
	// (bin = day*24 + hour); cdf[0] = 0 and cdf[days*24] = 1.
	cdf []float64
}

// filePlan is one output file.
type filePlan struct {
	index   int   // position among all files; with the seed, selects the stream
	month   int   // index into the month plans
	part    int   // part number within the partition
	first   int64 // index of the file's first row within its month
	rows    int64
	relPath string // slash-separated, relative to Dir
}

// seasonal is the relative number of yellow-taxi trips per day in each
// calendar month, January first. It approximates the TLC's 2024 monthly
// totals divided by days (about 3.0 M trips in January and August, 3.8 M
// in October), normalized to a mean near 1.
var seasonal = [12]float64{0.85, 0.92, 1.03, 1.04, 1.07, 1.05, 0.88, 0.86, 1.08, 1.10, 1.08, 1.05}

// weekdayWeight is the relative number of trips on each weekday, Sunday
// first: Sunday and Monday are quietest, Thursday busiest.
var weekdayWeight = [7]float64{0.85, 0.90, 1.00, 1.05, 1.10, 1.08, 1.00}

// hourWeight is the relative number of pickups in each hour of the day on
// weekdays (row 0) and weekends (row 1): on weekdays a morning rise and an
// evening peak at 18:00; on weekends late mornings and busy small hours.
var hourWeight = [2][24]float64{
	{1.8, 1.0, 0.6, 0.4, 0.4, 0.7, 1.8, 3.3, 4.3, 4.5, 4.5, 4.7, 5.0, 5.1, 5.5, 5.8, 5.9, 6.6, 7.0, 6.3, 5.5, 5.4, 5.0, 3.6},
	{4.0, 3.2, 2.3, 1.6, 1.0, 0.7, 0.8, 1.2, 2.0, 3.0, 3.9, 4.5, 5.0, 5.1, 5.2, 5.2, 5.2, 5.4, 5.6, 5.3, 4.8, 4.7, 4.6, 4.3},
}

func isWeekend(d time.Weekday) bool { return d == time.Saturday || d == time.Sunday }

// planMonths spreads c.rows over the months in proportion to days times
// seasonal weight (largest remainder, ties to the earlier month), and
// splits each month evenly into ceil(rows/fileRows) files.
func planMonths(c *config) ([]monthPlan, []filePlan) {
	months := make([]monthPlan, c.months)
	weights := make([]float64, c.months)
	var total float64
	for i := range months {
		t := time.Date(c.startYear, time.Month(c.startMonth+i), 1, 0, 0, 0, 0, time.UTC)
		m := &months[i]
		m.year, m.month = t.Year(), int(t.Month())
		m.days = time.Date(m.year, time.Month(m.month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
		m.firstWeekday = t.Weekday()
		m.startMicros = t.UnixMicro()
		weights[i] = float64(m.days) * seasonal[m.month-1]
		total += weights[i]
	}

	// Largest remainder: floor shares first, then one more row to the
	// months with the largest fractional parts.
	fracs := make([]float64, c.months)
	var assigned int64
	for i := range months {
		exact := float64(c.rows) * weights[i] / total
		fl := math.Floor(exact)
		months[i].rows = int64(fl)
		fracs[i] = exact - fl
		assigned += months[i].rows
	}
	for left := c.rows - assigned; left > 0; left-- {
		best := 0
		for i := range fracs {
			if fracs[i] > fracs[best] {
				best = i
			}
		}
		months[best].rows++
		fracs[best] = -1 // the remainder is below the number of months
	}

	var files []filePlan
	for i := range months {
		m := &months[i]
		if m.rows == 0 {
			continue
		}
		m.cdf = monthCDF(m)
		k := (m.rows + c.fileRows - 1) / c.fileRows
		base, extra := m.rows/k, m.rows%k
		var first int64
		for p := int64(0); p < k; p++ {
			n := base
			if p < extra {
				n++
			}
			files = append(files, filePlan{
				index:   len(files),
				month:   i,
				part:    int(p),
				first:   first,
				rows:    n,
				relPath: fmt.Sprintf("year=%04d/month=%02d/part-%05d.parquet", m.year, m.month, p),
			})
			first += n
		}
	}
	return months, files
}

// monthCDF returns the cumulative share of pickups per hour bin.
func monthCDF(m *monthPlan) []float64 {
	n := m.days * 24
	cdf := make([]float64, n+1)
	var sum float64
	for d := 0; d < m.days; d++ {
		wd := (m.firstWeekday + time.Weekday(d)) % 7
		prof := 0
		if isWeekend(wd) {
			prof = 1
		}
		for h := 0; h < 24; h++ {
			sum += weekdayWeight[wd] * hourWeight[prof][h]
			cdf[d*24+h+1] = sum
		}
	}
	for i := range cdf {
		cdf[i] /= sum
	}
	cdf[n] = 1
	return cdf
}
