package store

// IdentityBackfill is migration 12's Go step, for its test.
var IdentityBackfill = identityBackfill
