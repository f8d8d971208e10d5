/**
 * Everything a wire-level test needs, started together: the shared server core with one module
 * per service (dynalite behind it for DynamoDB), and a way to run a stack's functions as their
 * bundled assets against it. Start one per test file (`await WireEnvironment.start()`), stop it in
 * afterAll.
 */
import { InvokeResult, LocalLambda, LocalLambdaOptions } from './lambda-runner';
import { LocalPythonLambda } from './python-lambda';
import { BedrockRuntimeService } from './services/bedrock-runtime';
import { CloudFormationService } from './services/cloudformation';
import { DynamoDbService } from './services/dynamodb';
import { Ec2Service } from './services/ec2';
import { EventBridgeService } from './services/eventbridge';
import { LambdaService } from './services/lambda';
import { PipesService } from './services/pipes';
import { S3Service } from './services/s3';
import { SecretsManagerService } from './services/secrets-manager';
import { SnsService } from './services/sns';
import { StepFunctionsService } from './services/step-functions';
import { WafV2Service } from './services/wafv2';
import { StackFunction } from './stack-model';
import { WireServer } from './wire-server';

/** A function's execution environment on the wire layer (Node.js or Python). */
export interface LocalFunction {
  invoke(event: unknown): Promise<InvokeResult>;
  close(): Promise<void>;
}

export class WireEnvironment {
  /** Starts the server core, dynalite and every service module. */
  public static async start(): Promise<WireEnvironment> {
    const env = new WireEnvironment();
    await env.dynamodb.start();
    env.wire
      .register(env.dynamodb)
      .register(env.ec2)
      .register(env.wafv2)
      .register(env.cloudFormation)
      .register(env.s3)
      .register(env.sns)
      .register(env.eventBridge)
      .register(env.secretsManager)
      .register(env.stepFunctions)
      .register(env.bedrockRuntime)
      .register(env.pipes)
      .register(env.lambdaApi);
    await env.wire.start();
    return env;
  }

  public readonly wire = new WireServer();
  public readonly dynamodb = new DynamoDbService();
  public readonly ec2 = new Ec2Service();
  public readonly wafv2 = new WafV2Service();
  public readonly cloudFormation = new CloudFormationService();
  public readonly s3 = new S3Service();
  public readonly sns = new SnsService();
  public readonly eventBridge = new EventBridgeService();
  public readonly secretsManager = new SecretsManagerService();
  public readonly stepFunctions = new StepFunctionsService();
  public readonly bedrockRuntime = new BedrockRuntimeService();
  public readonly pipes = new PipesService();
  public readonly lambdaApi = new LambdaService();
  private readonly lambdas: LocalFunction[] = [];

  private constructor() {}

  /** A stack function (Node.js) as a warm execution environment against this environment. */
  public lambda(fn: StackFunction, options: Partial<LocalLambdaOptions> = {}): LocalLambda {
    if (!fn.runtime.startsWith('nodejs')) throw new Error(`${fn.logicalId}: runtime ${fn.runtime}; use function()`);
    const l = new LocalLambda({
      assetDir: fn.assetDir,
      handler: fn.handler,
      environment: fn.environment,
      functionName: fn.functionName,
      timeoutSeconds: fn.timeoutSeconds,
      memoryMb: fn.memoryMb,
      wire: this.wire,
      ...options,
    });
    this.lambdas.push(l);
    return l;
  }

  /** A stack function of any supported runtime (Node.js bundled assets; Python inline handlers). */
  public function(fn: StackFunction): LocalFunction {
    if (fn.runtime.startsWith('nodejs')) return this.lambda(fn);
    if (!fn.runtime.startsWith('python')) throw new Error(`${fn.logicalId}: runtime ${fn.runtime} is not run on the wire layer`);
    const l = new LocalPythonLambda({
      codeDir: fn.assetDir,
      handler: fn.handler,
      environment: fn.environment,
      functionName: fn.functionName,
      timeoutSeconds: fn.timeoutSeconds,
      wire: this.wire,
    });
    this.lambdas.push(l);
    return l;
  }

  public async stop(): Promise<void> {
    await Promise.all(this.lambdas.map((l) => l.close()));
    await this.wire.stop();
    await this.dynamodb.stop();
  }
}
