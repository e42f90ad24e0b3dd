/**
 * The offline bucket's folder for the UNLOAD outputs of sharded runs on AWS, one subfolder per
 * view, run and execution (`materialize-unload/<view>/<run>/<execution>/`). Its own module so
 * the CDK constructs name it without importing the run controller.
 */
export const unloadFolder = 'materialize-unload/';
