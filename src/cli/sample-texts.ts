/*
 * What `models:quantize --check` compares the int8 model with the original
 * on: sentences of many lengths and subjects, as a search index holds them,
 * and queries to rerank them by.
 */

export const SAMPLE_TEXTS: readonly string[] = [
  'How do I reset my password?',
  'The quarterly report shows revenue grew by twelve percent.',
  'A cat sat on the warm windowsill and watched the rain.',
  'Install the package with npm and import it in your module.',
  'Photosynthesis turns light, water and carbon dioxide into sugar and oxygen.',
  'The train to Lyon leaves from platform four at 9:15.',
  'Symptoms of dehydration include thirst, headache and dizziness.',
  'She scored the winning goal in the last minute of extra time.',
  'Interest rates were left unchanged at the central bank meeting.',
  'Preheat the oven to 200 degrees and bake the bread for thirty minutes.',
  'The API returns 429 when the rate limit is exceeded; retry after the given delay.',
  'Mount Everest is the highest mountain above sea level.',
  'Vector databases index embeddings for fast nearest-neighbour search.',
  'He forgot his umbrella, so he waited under the bridge until the storm passed.',
  'The museum opens at ten and closes at six, except on Mondays.',
  'Quantum computers use qubits, which can be in a superposition of states.',
  'Our refund policy allows returns within thirty days of purchase.',
  'The violin concerto was first performed in Leipzig in 1845.',
  'Use a strong, unique password for every account and turn on two-factor authentication.',
  'Tomatoes grow best in full sun with regular watering.',
  'The function throws an error when the input list is empty.',
  'Electric cars are cheaper to run but cost more to buy.',
  'Whales communicate over long distances with low-frequency songs.',
  'The meeting has been moved to Thursday afternoon.',
  'Shakespeare wrote Hamlet around the year 1600.',
  'Backups should be tested regularly, or they may fail when you need them.',
  'The hotel offers free breakfast and an airport shuttle.',
  'Inflation reduces the purchasing power of money over time.',
  'Kubernetes restarts a container whose liveness probe fails.',
  'The children built a sandcastle with towers and a moat.',
  'A balanced diet includes vegetables, fruit, whole grains and protein.',
  'The novel follows three generations of a family in a small fishing village, from the war years to the present day, ' +
    'and asks what each of them owes to the others and to the place they cannot leave.',
  'To configure the service, copy the example file, set the broker and store addresses, and choose which models each worker ' +
    'serves; the defaults run everything in one process with an in-memory queue.',
  'Le chat dort sur le canapé pendant que la pluie tombe.',
  'Der Zug nach Berlin hat zwanzig Minuten Verspätung.',
  'El mercado abre temprano los sábados.',
  'naïve café résumé — emoji 🚀 and symbols ∑ ≤ ∞',
  'ok',
  'SELECT name, count(*) FROM orders GROUP BY name ORDER BY 2 DESC;',
  'Error: connection refused (ECONNREFUSED 127.0.0.1:5672)',
];

export const SAMPLE_QUERIES: readonly string[] = [
  'how to change my password',
  'economy and interest rates',
  'cooking bread at home',
  'running containers in production',
];
