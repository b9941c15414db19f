// Package avx2 is the analytics scorer's AVX2 kernel for amd64: four keys
// per instruction, the same operations in the same order as the score
// package's scalar loop, so that both give the same results bit for bit.
//
// It lives apart from package score because score uses cgo when built
// with the cuda tag, and Go assembles no .s file in a package that uses
// cgo. Its layouts (the constants table and the scorer's parameters) are
// score's; score checks the offsets this file's assembly uses.
package avx2
