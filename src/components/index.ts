export { default as PlaybookSource } from './PlaybookSource.astro';
export { default as PlaybookSourceLink } from './PlaybookSourceLink.astro';
export { default as PlaybookStep } from './PlaybookStep.astro';
export { default as RunIt } from './RunIt.astro';
export { default as OptionsTable } from './OptionsTable.astro';
export { default as ExitCodes } from './ExitCodes.astro';
export { default as AllPlaybooks } from './AllPlaybooks.astro';
export { default as RunbookFacts } from './RunbookFacts.astro';
