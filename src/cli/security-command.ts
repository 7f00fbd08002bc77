import { readFile } from 'node:fs/promises';
import { runSecurityAudit, type SecurityFinding } from '../security/security-audit.js';
import { CliFailure, type CliRuntime, gatewayTarget } from './cli-context.js';

function describe(finding: SecurityFinding): string {
  const level = finding.fixed ? 'FIXED' : finding.level.toUpperCase();
  return `${level.padEnd(6)} ${finding.subject}\n       ${finding.message}\n       fix: ${finding.fix}`;
}

/** `hearth security audit [--json] [--fix]`: exits 1 while any high finding is left. */
export async function securityAudit(runtime: CliRuntime, options: { json?: boolean; fix?: boolean }): Promise<void> {
  const { paths, config } = gatewayTarget(runtime.env);
  const configText = await readFile(paths.configPath, 'utf8').catch(() => null);
  const report = await runSecurityAudit({ config, configText, paths, env: runtime.env as NodeJS.ProcessEnv, fix: options.fix === true });
  if (options.json) runtime.io.out(`${JSON.stringify(report, null, 2)}\n`);
  else if (report.findings.length === 0) runtime.io.out('Security audit: nothing found.\n');
  else {
    runtime.io.out(`Security audit: ${report.high} high, ${report.medium} medium\n\n${report.findings.map(describe).join('\n\n')}\n`);
  }
  if (report.high > 0) throw new CliFailure(`${report.high} high finding(s): fix them (above), then run hearth security audit again.`);
}
