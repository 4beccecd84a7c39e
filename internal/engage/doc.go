// Package engage owns the engagement mechanics that events feed: tasks
// that count events toward a target, and referral rewards for inviter and
// invitee. Each runs inside the caller's transaction, under the member's
// lock. (Check-in, which posts an event itself, is package checkin.)
package engage
