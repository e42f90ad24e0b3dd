import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { OfflineStore } from './offline-store.ts';

export interface CompactionRoleProps {
  /** The offline store whose sources the role compacts; its `grantCompact` gives every statement. */
  readonly offlineStore: OfflineStore;
  /**
   * IAM principals (role, user or account-root ARNs) that may assume the role. Empty: the stack's
   * own account, so no one outside it, and inside it only a principal whose own IAM policy allows
   * `sts:AssumeRole` on this role (nothing is granted by the trust alone).
   */
  readonly trustedPrincipalArns: readonly string[];
}

/**
 * The role a person or a scheduled job assumes to run `fstore compact --env <env>`: exactly the
 * statements `fstore iam-policy --for compact` prints (both come from `compactStatements`, so
 * they cannot drift), and nothing else: no Athena, no Glue, no delete of any record.
 */
export class CompactionRole extends Construct {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: CompactionRoleProps) {
    super(scope, id);
    const principals = props.trustedPrincipalArns.map((arn) => new iam.ArnPrincipal(arn));
    const [only] = principals;
    this.role = new iam.Role(this, 'Role', {
      assumedBy:
        principals.length === 0
          ? new iam.AccountRootPrincipal()
          : principals.length === 1 && only
            ? only
            : new iam.CompositePrincipal(...principals),
      description:
        'fstore compact --env <env>: merge small offline objects per source (the statements of fstore iam-policy --for compact)',
    });
    props.offlineStore.grantCompact(this.role);
  }
}
