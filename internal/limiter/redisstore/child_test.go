package redisstore

// childEnv, set, makes the test binary run as one process of a fleet
// (see fleet_test.go).
const childEnv = "REDISSTORE_CHILD"

func runChild() int { return 0 }
