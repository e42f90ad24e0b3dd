/** One statement of an IAM policy document, in the JSON shape IAM reads. */
export interface PolicyStatement {
  readonly Effect: 'Allow';
  readonly Action: readonly string[];
  readonly Resource: readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;
}

/** An IAM policy document as `aws iam put-role-policy --policy-document` takes it. */
export interface PolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: readonly PolicyStatement[];
}

export function policyDocument(statements: readonly PolicyStatement[]): PolicyDocument {
  return { Version: '2012-10-17', Statement: statements };
}

/** Where ARNs are built: the partition (`aws`, `aws-cn` ...), region and account. */
export interface ArnScope {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
}
