// Package doccheck holds no code: its tests check what a user reads and
// runs from the repository's documents — that the README's Go program
// compiles as written, that the documents point nowhere outside the
// repository, and that the README's build command gives a static binary.
package doccheck
