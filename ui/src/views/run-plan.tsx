/** A structured run's plan as `runs.get` returns it (null for a conversational run). */
export interface PlanView {
  status: string;
  reason: string | null;
  resumeOf: string | null;
  plan: { steps: { id: string; goal: string; tools: string[]; preconditions: string[]; rollback?: string }[] };
  steps: { id: string; status: string; attempts: number; verification: string | null; output: unknown }[];
}

const outputText = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

/** The plan of a structured run, read-only: each step's goal, tools, status, attempts and verification. */
export function PlanSection({ plan }: { plan: PlanView }) {
  return (
    <>
      <h3>Plan</h3>
      <p class="detail" data-testid="plan-status">
        {plan.status}
        {plan.resumeOf ? `, continuing ${plan.resumeOf}` : ''}
        {plan.reason ? `: ${plan.reason}` : ''}
      </p>
      <ol class="plan" data-testid="plan">
        {plan.plan.steps.map((step, index) => {
          const checkpoint = plan.steps[index];
          const attempts = checkpoint?.attempts ?? 0;
          return (
            <li key={step.id} data-status={checkpoint?.status ?? 'pending'}>
              <strong>{step.id}</strong> <span class="step-kind">{checkpoint?.status ?? 'pending'}</span> {step.goal}
              <span class="detail">
                {' '}
                · {attempts} attempt{attempts === 1 ? '' : 's'} · tools: {step.tools.join(', ') || 'none'}
              </span>
              {checkpoint?.verification && checkpoint.verification !== 'ok' && <p class="step-error">Verification failed: {checkpoint.verification}</p>}
              {checkpoint?.status === 'done' && <pre>{outputText(checkpoint.output)}</pre>}
              {step.rollback && <p class="detail">Rollback: {step.rollback}</p>}
            </li>
          );
        })}
      </ol>
    </>
  );
}
