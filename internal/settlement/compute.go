package settlement

import (
	"cmp"
	"slices"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/null"
	"github.com/jifen/jifen/internal/store"
)

// Pair kinds.
const (
	PairRedemption = "redemption" // the issuer pays where its points were redeemed
	PairBreakage   = "breakage"   // the issuer pays the program for its expired points
)

// Line is one party's figures in a statement; MerchantID null is the
// program.
type Line struct {
	MerchantID         null.String `json:"merchant_id"`
	Issued             int64       `json:"issued"`               // issue − claw of its lots
	RedeemedAtSelf     int64       `json:"redeemed_at_self"`     // its lots redeemed at itself
	RedeemedByOthers   int64       `json:"redeemed_by_others"`   // its lots redeemed elsewhere
	RedeemedFromOthers int64       `json:"redeemed_from_others"` // others' lots redeemed at it
	Expired            int64       `json:"expired"`              // its lots' expired points
	PayableFen         int64       `json:"payable_fen"`          // its redemption pairs as payer
	ReceivableFen      int64       `json:"receivable_fen"`       // its redemption pairs as payee
	FeesFen            int64       `json:"fees_fen"`             // fees on what it receives (program: −all fees)
	BreakageFen        int64       `json:"breakage_fen"`         // its breakage pairs (program: −all)
	NetFen             int64       `json:"net_fen"`              // receivable − payable − fees − breakage
}

// Pair is what one party owes another for a statement's moves.
type Pair struct {
	Kind            string      `json:"kind"` // redemption | breakage
	PayerMerchantID null.String `json:"payer_merchant_id"`
	PayeeMerchantID null.String `json:"payee_merchant_id"`
	Points          int64       `json:"points"`
	AmountFen       int64       `json:"amount_fen"` // points × the payer's point_value_fen, truncated
	FeeFen          int64       `json:"fee_fen"`    // amount_fen × the payee's fee_percent / 100, truncated; 0 to the program
}

// terms is a party's terms as numbers.
type terms struct {
	value    micro // fen per point
	fee      micro // percent
	breakage string
}

// book is every party's terms: the ones set, and the default for the rest
// (and for the program's own points).
type book struct {
	set map[string]terms
	def terms
}

func (b book) of(merchant null.String) terms {
	if t, ok := b.set[string(merchant)]; ok && merchant != "" {
		return t
	}
	return b.def
}

// compute turns the sums of a statement's moves by (issuer, place, kind)
// into its lines and pairs. The sums are few (merchants² × kinds), so this
// is done here rather than in SQL; the moves themselves never leave the
// database.
func compute(sums []store.MoveSum, b book) ([]Line, []Pair, error) {
	lines := map[null.String]*Line{"": {}}
	line := func(m null.String) *Line {
		l, ok := lines[m]
		if !ok {
			l = &Line{MerchantID: m}
			lines[m] = l
		}
		return l
	}
	type route struct{ issuer, at null.String }
	redeemed := map[route]int64{}
	expired := map[null.String]int64{}
	for _, s := range sums {
		is := line(s.IssuerMerchantID)
		switch s.Kind {
		case store.MoveIssue, store.MoveClaw:
			is.Issued += s.Points
		case store.MoveExpire:
			is.Expired -= s.Points
			expired[s.IssuerMerchantID] -= s.Points
		case store.MoveRedeem, store.MoveReturn:
			at := line(s.AtMerchantID)
			n := -s.Points // redeem is −, return +
			if s.IssuerMerchantID == s.AtMerchantID {
				is.RedeemedAtSelf += n
			} else {
				is.RedeemedByOthers += n
				at.RedeemedFromOthers += n
				redeemed[route{s.IssuerMerchantID, s.AtMerchantID}] += n
			}
		}
	}
	var pairs []Pair
	for r, n := range redeemed {
		if n == 0 {
			continue
		}
		amount, ok := mulTrunc(n, b.of(r.issuer).value)
		if !ok {
			return nil, nil, failure.New(failure.Internal, "a statement amount passes the int64 range")
		}
		p := Pair{Kind: PairRedemption, PayerMerchantID: r.issuer, PayeeMerchantID: r.at, Points: n, AmountFen: amount}
		if r.at != "" {
			p.FeeFen = feeOf(amount, b.of(r.at).fee)
		}
		pairs = append(pairs, p)
	}
	for issuer, n := range expired {
		if issuer == "" || n == 0 || b.of(issuer).breakage != BreakageProgram {
			continue
		}
		amount, ok := mulTrunc(n, b.of(issuer).value)
		if !ok {
			return nil, nil, failure.New(failure.Internal, "a statement amount passes the int64 range")
		}
		pairs = append(pairs, Pair{Kind: PairBreakage, PayerMerchantID: issuer, Points: n, AmountFen: amount})
	}
	slices.SortFunc(pairs, func(x, y Pair) int {
		return cmp.Or(cmp.Compare(x.Kind, y.Kind), cmp.Compare(x.PayerMerchantID, y.PayerMerchantID),
			cmp.Compare(x.PayeeMerchantID, y.PayeeMerchantID))
	})
	prog := lines[""]
	for _, p := range pairs {
		payer, payee := line(p.PayerMerchantID), line(p.PayeeMerchantID)
		switch p.Kind {
		case PairRedemption:
			payer.PayableFen += p.AmountFen
			payee.ReceivableFen += p.AmountFen
			payee.FeesFen += p.FeeFen
			prog.FeesFen -= p.FeeFen
		case PairBreakage:
			payer.BreakageFen += p.AmountFen
			prog.BreakageFen -= p.AmountFen
		}
	}
	out := make([]Line, 0, len(lines))
	for _, l := range lines {
		l.NetFen = l.ReceivableFen - l.PayableFen - l.FeesFen - l.BreakageFen
		out = append(out, *l)
	}
	// The program's line first, then the merchants' by ID.
	slices.SortFunc(out, func(x, y Line) int { return cmp.Compare(x.MerchantID, y.MerchantID) })
	return out, pairs, nil
}
