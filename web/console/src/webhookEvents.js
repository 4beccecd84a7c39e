// The event types a webhook may subscribe to (the API's list).
export const eventTypes = [
  'member.created', 'member.updated', 'member.merged', 'member.erased', 'member.tier_changed',
  'points.earned', 'points.spent', 'points.adjusted', 'points.reversed', 'points.expired', 'points.exchanged', 'points.expiring',
  'hold.captured', 'hold.released', 'redemption.created', 'redemption.fulfilled', 'redemption.cancelled',
  'coupon.issued', 'coupon.redeemed', 'coupon.transferred', 'coupon.expired', 'lottery.drawn', 'checkin.created', 'statement.closed',
]
