export * from './resource';
export * from './refs';
export * from './simple-kinds';
export * from './virtual-machine';
export * from './fleet';
export * from './operations';
