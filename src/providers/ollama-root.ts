const OLLAMA_URL = 'http://127.0.0.1:11434';

/** The server root of an Ollama base URL: configs written for its OpenAI-compatible `/v1` still work. */
export function ollamaRoot(baseUrl: string | undefined): string {
  return (baseUrl ?? OLLAMA_URL).replace(/\/+$/, '').replace(/\/v1$/, '').replace(/\/api$/, '');
}
