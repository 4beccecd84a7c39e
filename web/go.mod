// The web pages' sources (npm projects), not Go: this file makes web/ a
// module of its own so that ./... of the repository's module never walks
// into node_modules, where some npm packages ship Go files.
module jifen.invalid/web

go 1.26
