package receipt

import "fmt"

// Check names one step of Verify. A refused receipt's error is a
// *CheckError naming the step that refused it.
type Check string

// The checks Verify runs, in the order it runs them. The order puts the
// most specific check first where one tampering breaks several: a changed
// endorsement also breaks the creator's signature over the payload that
// holds it, and is reported as the endorsement it is.
const (
	CheckDecode               Check = "decode"                // the receipt's JSON or a protobuf inside it does not parse
	CheckConfig               Check = "channel-config"        // the receipt names a configuration the trust does not hold
	CheckBlockData            Check = "block-data"            // the envelope is not at txIndex of the block, or the data hash differs
	CheckValidationFlag       Check = "validation-flag"       // the block's filter does not mark the transaction VALID
	CheckEndorsementSignature Check = "endorsement-signature" // an endorser did not sign the proposal response
	CheckCreatorSignature     Check = "creator-signature"     // the submitter did not sign the envelope (or its tx ID is not its own)
	CheckCertificate          Check = "certificate"           // a signer's certificate does not chain to its MSP, or has no valid role
	CheckEndorsementPolicy    Check = "endorsement-policy"    // the endorsers do not satisfy a policy of a written key
	CheckOrdererSignature     Check = "orderer-signature"     // the block's signatures do not satisfy the block validation policy
)

// CheckError reports the check a receipt failed and why.
type CheckError struct {
	Check Check
	Err   error
}

func (e *CheckError) Error() string { return fmt.Sprintf("receipt %s check: %v", e.Check, e.Err) }
func (e *CheckError) Unwrap() error { return e.Err }

func fail(c Check, format string, a ...any) error {
	return &CheckError{Check: c, Err: fmt.Errorf(format, a...)}
}
