// The samples measure GC counts and throughput of their own process; running them one at a time keeps a test's
// child process from competing with another's for the 2 cores a CI machine may have.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
