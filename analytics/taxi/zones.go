package taxi

import "sync"

// TLC taxi zone IDs with a special role.
const (
	zoneEWR      = 1   // Newark Airport (New Jersey)
	zoneJFK      = 132 // JFK Airport
	zoneLGA      = 138 // LaGuardia Airport
	zoneUnknown  = 264 // "Unknown" / NV
	zoneOutside  = 265 // outside of NYC
	numZoneSlots = 1 << 16
)

// manhattanZones are the TLC zone IDs in the borough of Manhattan, with the
// relative number of yellow-taxi pickups in each. The weights approximate
// the 2024 shares: Midtown and the Upper East Side lead, the northern tip
// and the islands are rare. Manhattan takes about 90% of non-airport trips.
var manhattanZones = map[int32]float64{
	161: 4.8, 237: 4.7, 236: 4.3, 162: 3.6, 230: 3.5, 186: 3.3, 142: 3.2,
	170: 3.0, 163: 2.9, 239: 2.8, 48: 2.7, 68: 2.6, 234: 2.6, 79: 2.5,
	141: 2.4, 107: 2.3, 238: 2.1, 249: 2.1, 164: 2.1, 140: 2.0, 100: 1.9,
	90: 1.8, 263: 1.7, 229: 1.6, 113: 1.5, 246: 1.5, 43: 1.4, 231: 1.3,
	137: 1.3, 262: 1.2, 233: 1.2, 114: 1.1, 151: 0.9, 50: 0.9, 125: 0.8,
	211: 0.8, 144: 0.8, 148: 0.8, 158: 0.7, 75: 0.6, 87: 0.6, 13: 0.5,
	261: 0.5, 24: 0.5, 88: 0.4, 41: 0.4, 74: 0.4, 166: 0.4, 4: 0.3,
	42: 0.2, 45: 0.2, 209: 0.2, 232: 0.2, 152: 0.1, 116: 0.1, 244: 0.1,
	243: 0.05, 127: 0.03, 12: 0.03, 202: 0.02, 194: 0.01, 128: 0.005,
	120: 0.005, 153: 0.005, 103: 0.001, 104: 0.001, 105: 0.001,
}

// outerZones are the busier zones outside Manhattan (Astoria, Long Island
// City, Williamsburg, Downtown Brooklyn, Park Slope …); every other zone of
// the other boroughs gets outerDefault.
var outerZones = map[int32]float64{
	7: 0.3, 145: 0.2, 146: 0.15, 255: 0.15, 256: 0.12, 65: 0.12, 66: 0.12,
	181: 0.1, 97: 0.1, 112: 0.1, 129: 0.1, 95: 0.08, 223: 0.08, 226: 0.08,
	zoneUnknown: 0.5, zoneOutside: 0.2, zoneEWR: 0.01,
}

const outerDefault = 0.03

// zoneTable draws a zone ID from 16 random bits: each zone owns a number of
// the 65,536 slots proportional to its weight (at least one), so a draw is
// one table lookup.
type zoneTable struct {
	slots     [numZoneSlots]int16
	manhattan [zoneOutside + 1]bool
}

// zones builds the shared, read-only table once.
var zones = sync.OnceValue(func() *zoneTable {
	t := &zoneTable{}
	var ids []int32
	var ws []float64
	var sum float64
	for id := int32(1); id <= zoneOutside; id++ {
		var w float64
		switch {
		case id == zoneJFK || id == zoneLGA:
			continue // airport trips are drawn separately
		case manhattanZones[id] > 0:
			w = manhattanZones[id]
			t.manhattan[id] = true
		case outerZones[id] > 0:
			w = outerZones[id]
		default:
			w = outerDefault
		}
		ids = append(ids, id)
		ws = append(ws, w)
		sum += w
	}
	// Every zone gets one slot; the rest are shared by weight (floor),
	// and any left over go to the heaviest zone (161, Midtown Center).
	free := numZoneSlots - len(ids)
	pos, heaviest := 0, 0
	counts := make([]int, len(ids))
	used := 0
	for i, w := range ws {
		counts[i] = 1 + int(float64(free)*w/sum)
		used += counts[i]
		if ws[i] > ws[heaviest] {
			heaviest = i
		}
	}
	counts[heaviest] += numZoneSlots - used
	for i, id := range ids {
		for j := 0; j < counts[i]; j++ {
			t.slots[pos] = int16(id)
			pos++
		}
	}
	return t
})
