// Package clocktest holds what tests of calendar math share: time zones
// chosen for the ways they break date arithmetic, and the range of
// instants the API accepts.
package clocktest

import (
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // the zones below, whatever the machine has installed
)

// Zones are program time zones with what makes date math go wrong: half-
// and quarter-hour offsets, DST (also at midnight and by 30 minutes), +14
// hours, days that a zone skipped, and clocks that jumped at New Year.
var Zones = []string{
	"UTC",
	"Asia/Shanghai",
	"America/St_Johns",     // -03:30, DST
	"Pacific/Kiritimati",   // +14; skipped 31 December 1994
	"Pacific/Apia",         // skipped 30 December 2011
	"America/New_York",     // DST at 02:00
	"America/Sao_Paulo",    // DST that began at midnight
	"America/Havana",       // DST at midnight
	"Asia/Kathmandu",       // +05:45
	"Pacific/Chatham",      // +12:45, DST
	"Australia/Lord_Howe",  // DST of 30 minutes
	"Africa/Casablanca",    // DST suspended each Ramadan
	"Europe/Dublin",        // negative DST in tzdata
	"America/Adak",         // -10, DST
	"America/Lima",         // DST began at 00:00 on 1 January (1986–1994)
	"America/Danmarkshavn", // -03 to GMT at 00:00 on 1 January 1996
	"Asia/Dili",            // clocks set back just after midnight on 1 January 1912
}

var locations = sync.OnceValues(func() ([]*time.Location, error) {
	out := make([]*time.Location, len(Zones))
	for i, name := range Zones {
		loc, err := time.LoadLocation(name)
		if err != nil {
			return nil, err
		}
		out[i] = loc
	}
	return out, nil
})

// Zone picks one of Zones by a fuzzed byte.
func Zone(t testing.TB, i uint8) *time.Location {
	t.Helper()
	locs, err := locations()
	if err != nil {
		t.Fatal(err)
	}
	return locs[int(i)%len(locs)]
}

// The API's instants: years 0000 to 9999 in UTC (Unix seconds).
var (
	MinAPI = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	MaxAPI = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix()
)
