module pcipass.invalid/examples

go 1.19

require pcipass.invalid/pcipass v0.0.0

replace pcipass.invalid/pcipass => ../../capi/go/pcipass
