export * from './ports';
export * from './command-handler';
export * from './certificates/certificate-commands';
export * from './certificates/certificate-work.handler';
export * from './certificates/renewal.handler';
export * from './bindings/service-binding.handler';
export * from './settings/renewal-defaults.handler';
