package settlement

import (
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
)

// micro is an exact non-negative decimal with at most 6 fraction digits,
// held as millionths: "1.5" is 1_500_000. Money figures multiply it with
// math/big and truncate once, so no float ever touches an amount.
type micro int64

const microUnit = 1_000_000

var decimalSyntax = regexp.MustCompile(`^[0-9]{1,9}(\.[0-9]{1,6})?$`)

// parseMicro reads a decimal string such as "0.8" or "12.345678".
func parseMicro(s string) (micro, error) {
	if !decimalSyntax.MatchString(s) {
		return 0, fmt.Errorf("%q is not a decimal string such as \"1.5\" (at most 9 digits before the point and 6 after)", s)
	}
	whole, frac, _ := strings.Cut(s, ".")
	frac += strings.Repeat("0", 6-len(frac))
	w, _ := strconv.ParseInt(whole, 10, 64)
	f, _ := strconv.ParseInt(frac, 10, 64)
	return micro(w*microUnit + f), nil
}

// String writes the decimal without trailing zeros: "1.5", "0", "33.333333".
func (m micro) String() string {
	s := strconv.FormatInt(int64(m)/microUnit, 10)
	if f := int64(m) % microUnit; f != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%06d", f), "0")
	}
	return s
}

// defaultPointValue is 100 / points_per_yuan fen, truncated to 6 decimals.
func defaultPointValue(pointsPerYuan int64) micro {
	if pointsPerYuan <= 0 {
		return 0
	}
	return micro(100 * microUnit / pointsPerYuan)
}

// mulTrunc is points × value (fen, millionths) in whole fen, truncated
// toward zero; ok is false when it does not fit an int64.
func mulTrunc(points int64, value micro) (int64, bool) {
	p := new(big.Int).Mul(big.NewInt(points), big.NewInt(int64(value)))
	p.Quo(p, big.NewInt(microUnit)) // Quo truncates toward zero
	return p.Int64(), p.IsInt64()
}

// feeOf is amount × percent / 100, truncated toward zero.
func feeOf(amount int64, percent micro) int64 {
	p := new(big.Int).Mul(big.NewInt(amount), big.NewInt(int64(percent)))
	p.Quo(p, big.NewInt(100*microUnit))
	return p.Int64() // |fee| <= |amount| when percent <= 100
}
