// The error any layer throws for a job refused or failed for a reason the person can act on (an unknown id, a file
// gone, a locked database). It belongs to no interface: the CLI (cli-kit) prints its message as one line and exits
// 1; the web page maps review's ActionError kinds to statuses. So domain code refuses without knowing the CLI.
export class Refusal extends Error {}
