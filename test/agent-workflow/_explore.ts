import { Template } from 'aws-cdk-lib/assertions';
import { minimalProps, newStack } from './workflow-fixtures';
import { StepFunctionsAgentWorkflow } from '../../src';
import { definitionFromTemplate } from '../harness/sfn-local';
// eslint-disable-next-line
const asl = require('asl-validator');
const s = newStack();
new StepFunctionsAgentWorkflow(s, 'Claims', minimalProps(s));
const d = definitionFromTemplate(Template.fromStack(s));
console.log(JSON.stringify(d.States.Decide));
console.log(JSON.stringify(asl(structuredClone(d)).errors));
