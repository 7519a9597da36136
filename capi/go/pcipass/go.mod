// NOTE: the module path is a placeholder until pcipass has a public import
// path; the .invalid domain never resolves, so the go command never tries to
// download it. Other modules use this one through a replace directive.
module pcipass.invalid/pcipass

go 1.19
