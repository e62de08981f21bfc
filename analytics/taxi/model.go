package taxi

import (
	"context"
	"math"
	"math/rand/v2"
	"time"
)

// Shares of trip kinds, as fractions of all trips. See the package doc.
const (
	pUnknown     = 0.045 // payment_type 0: the TLC's "unknown" records, five columns null
	pVendor1     = 0.24  // VendorID 1 (Creative Mobile); the rest are 2 (Curb)
	pStoreFwd    = 0.02  // store_and_fwd_flag "Y", among VendorID 1 trips only
	pJFK         = 0.045 // one end at JFK
	pLGA         = 0.035 // one end at LaGuardia
	pEWR         = 0.003 // drop-off at Newark (RatecodeID 3)
	pNegotiated  = 0.004 // RatecodeID 5
	pNassau      = 0.002 // RatecodeID 4, Nassau or Westchester
	pFromAirport = 0.55  // airport trips that start at the airport
	pSameZone    = 0.6   // trips under 0.8 mi that end in their pickup zone
	pUnknownTip  = 0.6   // payment_type 0 trips with a tip (app payments)
)

// TLC yellow-taxi rates in force in 2024, in cents.
const (
	centsInitial     = 300  // meter drop
	centsPerUnit     = 70   // per 1/5 mile, or per 60 s below about 12 mph
	centsJFKFlat     = 7000 // JFK <-> Manhattan flat fare
	centsJFKRush     = 500  // JFK flat-fare rush-hour surcharge
	centsRush        = 250  // weekdays 16:00-20:00
	centsOvernight   = 100  // 20:00-06:00
	centsNewark      = 2000 // Newark surcharge, reported in extra here
	centsMTATax      = 50
	centsImprovement = 100
	centsCongestion  = 250 // trips that start or end in Manhattan
	centsAirportFee  = 175 // pickups at JFK or LaGuardia
	centsToll        = 694 // a typical bridge or tunnel toll (E-ZPass)
	centsTollNewark  = 1738
)

// hourSpeed is the typical average speed in mph of a short trip starting in
// each hour: fastest at night, slowest in the afternoon peak.
var hourSpeed = [24]float64{18, 19, 20, 20, 20, 18, 15, 12, 10, 9.5, 9.5, 9.5, 9.5, 9.5, 9, 8.5, 8.5, 8.5, 9, 10, 11.5, 12.5, 13.5, 15.5}

// passengerCDF: 1 passenger dominates; 0 is a driver who typed nothing.
var passengerCDF = [...]struct {
	p float64
	n int64
}{{0.015, 0}, {0.765, 1}, {0.915, 2}, {0.955, 3}, {0.975, 4}, {0.99, 5}, {1, 6}}

// batch holds one row group's columns as plain slices. The slices are
// reused for every row group a worker writes.
type batch struct {
	n                   int
	vendor, pu, do      []int32
	pickup, dropoff     []int64 // microseconds
	passengers, rate    []int64
	payment             []int64
	distance            []float64
	fare, extra, mta    []float64
	tip, tolls, improve []float64
	total, congestion   []float64
	airport             []float64
	flagOffsets         []int64
	flagData            []byte
	// valid is the validity bitmap shared by the five nullable columns,
	// which are null together; nulls counts the unset bits.
	valid []byte
	nulls int
}

func newBatch(rows int) *batch {
	f := func() []float64 { return make([]float64, rows) }
	i := func() []int64 { return make([]int64, rows) }
	return &batch{
		vendor: make([]int32, rows), pu: make([]int32, rows), do: make([]int32, rows),
		pickup: i(), dropoff: i(), passengers: i(), rate: i(), payment: i(),
		distance: f(), fare: f(), extra: f(), mta: f(), tip: f(), tolls: f(),
		improve: f(), total: f(), congestion: f(), airport: f(),
		flagOffsets: make([]int64, rows+1), flagData: make([]byte, rows),
		valid: make([]byte, (rows+7)/8),
	}
}

// generator makes the rows of one file from its own pseudo-random stream.
type generator struct {
	src   *rand.PCG
	rnd   *rand.Rand // same stream as src; used for NormFloat64
	zones *zoneTable
}

// newGenerator seeds a PCG from (seed, file index) through SplitMix64, so
// that neighbouring seeds and indexes give unrelated streams.
func newGenerator(seed uint64, fileIndex int) *generator {
	a := splitmix64(seed ^ splitmix64(uint64(fileIndex)+0x9e3779b97f4a7c15))
	b := splitmix64(a ^ 0xd1b54a32d192ed03)
	src := rand.NewPCG(a, b)
	return &generator{src: src, rnd: rand.New(src), zones: zones()}
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// float returns a uniform value in [0, 1).
func (g *generator) float() float64 { return float64(g.src.Uint64()>>11) * 0x1p-53 }

func (g *generator) zone() int32 { return int32(g.zones.slots[g.src.Uint64()>>48]) }

func (g *generator) normal(mean, sd, lo, hi float64) float64 {
	return min(max(mean+sd*g.rnd.NormFloat64(), lo), hi)
}

// fill generates rows [first, first+n) of month m into b. Pickup times are
// stratified: row r of the month's N rows falls at the quantile
// (r + U)/N of the month's time distribution, so they come out in order,
// each file and row group covers its own span of the month, and min/max
// statistics let readers skip row groups by time.
func (g *generator) fill(ctx context.Context, b *batch, m *monthPlan, first int64, n int) error {
	b.n = n
	clear(b.valid)
	b.nulls = 0
	b.flagOffsets[0] = 0
	var flagLen int64

	// bin tracks the hour bin of the current quantile; it only moves forward.
	nrows := float64(m.rows)
	u0 := float64(first) / nrows
	bin := searchBin(m.cdf, u0)
	bins := len(m.cdf) - 1

	for i := 0; i < n; i++ {
		if i%cancelCheckRows == 0 && i > 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		// Pickup time.
		u := (float64(first+int64(i)) + g.float()) / nrows
		for bin < bins-1 && m.cdf[bin+1] <= u {
			bin++
		}
		lo, hi := m.cdf[bin], m.cdf[bin+1]
		sec := int64((u - lo) / (hi - lo) * 3600)
		sec = min(max(sec, 0), 3599)
		day, hour := bin/24, bin%24
		wd := (m.firstWeekday + time.Weekday(day)) % 7
		pickup := m.startMicros + (int64(bin)*3600+sec)*1e6
		weekend := isWeekend(wd)

		// Trip kind, zones and distance.
		unknown := g.float() < pUnknown
		vendor := int32(2)
		if g.float() < pVendor1 {
			vendor = 1
		}
		var pu, do int32
		var dist float64
		rate := int64(1)
		k := g.float()
		switch {
		case k < pJFK:
			pu, do = airportEnds(g, zoneJFK)
			dist = g.normal(17.5, 2.5, 9, 30)
			other := pu
			if pu == zoneJFK {
				other = do
			}
			if g.zones.manhattan[other] {
				rate = 2
			}
		case k < pJFK+pLGA:
			pu, do = airportEnds(g, zoneLGA)
			dist = g.normal(9.5, 2, 4, 20)
		case k < pJFK+pLGA+pEWR:
			pu, do = g.zone(), zoneEWR
			dist = g.normal(18, 3, 12, 30)
			rate = 3
		default:
			pu, do = g.zone(), g.zone()
			// Log-normal, median 1.7 mi: most trips are short, a long tail.
			dist = min(math.Exp(math.Log(1.7)+0.75*g.rnd.NormFloat64()), 45)
			if dist < 0.8 && g.float() < pSameZone {
				do = pu
			}
			switch k2 := g.float(); {
			case k2 < pNegotiated:
				rate = 5
			case k2 < pNegotiated+pNassau:
				rate = 4
				dist = g.normal(22, 5, 12, 45)
				do = zoneOutside
			}
		}
		dist = math.Round(max(dist, 0.01)*100) / 100

		// Duration: distance over a speed that depends on the hour, rises
		// with trip length (highways) and varies by ±25% or so.
		speed := hourSpeed[hour]
		if weekend && hour >= 7 && hour < 20 {
			speed *= 1.15
		}
		speed *= (1 + 0.35*math.Log1p(dist/2)) * math.Exp(0.25*g.rnd.NormFloat64())
		dur := dist/speed*3600 + 30 + 90*g.float()
		durSec := int64(dur)
		dropoff := pickup + durSec*1e6

		// Fare. The meter charges a unit per 1/5 mile while moving and per
		// 60 s while slow; the slow share of the time falls with speed.
		slow := min(max(1-speed/20, 0.05), 0.85)
		meter := int64(centsInitial + centsPerUnit*(int64(dist*5)+int64(dur*slow/60)))
		fare := meter
		var extra int64
		rush := !weekend && hour >= 16 && hour < 20
		overnight := hour >= 20 || hour < 6
		switch rate {
		case 2:
			fare = centsJFKFlat
			if rush {
				extra = centsJFKRush
			}
		case 5:
			fare = (meter*11/10 + 50) / 100 * 100 // a round number of dollars
		}
		if rate != 2 {
			if rush {
				extra += centsRush
			}
			if overnight {
				extra += centsOvernight
			}
		}
		if rate == 3 {
			extra += centsNewark
		}
		var tolls int64
		switch {
		case rate == 3:
			tolls = centsTollNewark
		case pu == zoneJFK || do == zoneJFK || pu == zoneLGA || do == zoneLGA || dist > 8:
			if g.float() < 0.35 {
				tolls = centsToll
			}
		}
		var congestion, airportFee int64
		if g.zones.manhattan[pu] || g.zones.manhattan[do] {
			congestion = centsCongestion
		}
		if pu == zoneJFK || pu == zoneLGA {
			airportFee = centsAirportFee
		}

		// Payment and tip. Card tips are chosen on the tablet as a share of
		// the fare plus surcharges (not tolls); cash tips are not recorded.
		var payment int64
		tipped := false
		if unknown {
			tipped = g.float() < pUnknownTip
		} else {
			switch p := g.float(); {
			case p < 0.79:
				payment, tipped = 1, true
			case p < 0.965:
				payment = 2
			case p < 0.975:
				payment = 3
			default:
				payment = 4
			}
		}
		var tip int64
		if tipped {
			base := fare + extra + centsMTATax + centsImprovement + congestion + airportFee
			var pct float64
			// 15% leave nothing; most press a preset button; some type an
			// amount. The mean is about 18% of the base, 23% of the fare.
			switch t := g.float(); {
			case t < 0.15:
				pct = 0
			case t < 0.50:
				pct = 0.20
			case t < 0.70:
				pct = 0.25
			case t < 0.78:
				pct = 0.30
			default:
				pct = 0.10 + 0.10*g.float()
			}
			tip = int64(math.Round(float64(base) * pct))
		}
		total := fare + extra + centsMTATax + tip + tolls + centsImprovement

		b.vendor[i] = vendor
		b.pickup[i] = pickup
		b.dropoff[i] = dropoff
		b.distance[i] = dist
		b.pu[i], b.do[i] = pu, do
		b.payment[i] = payment
		b.fare[i] = cents(fare)
		b.extra[i] = cents(extra)
		b.mta[i] = cents(centsMTATax)
		b.tip[i] = cents(tip)
		b.tolls[i] = cents(tolls)
		b.improve[i] = cents(centsImprovement)
		if unknown {
			// The TLC's unknown records leave these five columns null.
			b.nulls++
			b.passengers[i], b.rate[i], b.congestion[i], b.airport[i] = 0, 0, 0, 0
		} else {
			total += congestion + airportFee
			b.valid[i>>3] |= 1 << (i & 7)
			b.passengers[i] = passengers(g.float())
			b.rate[i] = rate
			b.congestion[i] = cents(congestion)
			b.airport[i] = cents(airportFee)
			flag := byte('N')
			if vendor == 1 && g.float() < pStoreFwd {
				flag = 'Y'
			}
			b.flagData[flagLen] = flag
			flagLen++
		}
		b.flagOffsets[i+1] = flagLen
		b.total[i] = cents(total)
	}
	return ctx.Err()
}

// airportEnds puts the airport at the pickup or the drop-off end.
func airportEnds(g *generator, airport int32) (pu, do int32) {
	if g.float() < pFromAirport {
		return airport, g.zone()
	}
	return g.zone(), airport
}

func passengers(u float64) int64 {
	for _, c := range passengerCDF {
		if u < c.p {
			return c.n
		}
	}
	return 1
}

func cents(c int64) float64 { return float64(c) / 100 }

// searchBin returns the bin i with cdf[i] <= u < cdf[i+1].
func searchBin(cdf []float64, u float64) int {
	lo, hi := 0, len(cdf)-2
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if cdf[mid] <= u {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}
