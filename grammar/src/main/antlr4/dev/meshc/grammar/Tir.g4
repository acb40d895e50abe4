/*
 * The tile-IR text format (.tir). One module per file:
 *
 *   # meshc tile IR
 *   tir 1
 *   module "tiny-gpt2" {
 *     input %input_ids : i64[1,16] <*,y>
 *     weight @wte : f32[512,64] <y,x> = "transformer.wte.weight"
 *     weight @lm_head.T : f32[64,512] <y,x> = "transformer.wte.weight" perm [1,0]
 *     const %c0 : i64[1,4] <*,y> = [0, 1, 2, 3]
 *     const %c1 : f32[] <> = 0.5
 *     %0 = embedding %input_ids, @wte : f32[1,16,64] <*,y,x> loc("node_Gather_3")
 *     layer 0 decoder {ffn = 256, heads = 4} {
 *       %1 = layer_norm %0, @g, @b {eps = 1.0E-5} : f32[1,16,64] <*,y,x> loc("n1", "n2")
 *       %2, %3 = Split %1 {axis = 2, split = [32, 32]} : f32[1,16,32] <*,y,x>, f32[1,16,32] <*,y,x>
 *     }
 *     output %3
 *     placement decode {machine = "wse2", max_context = 4096} {
 *       region 0 {grid = 300, layers = [0, 6], wafer = 0, x = 0, y = 0} {
 *         kernel qkv {algorithm = "meshgemv", shape = [1, 4096, 6144]}
 *       }
 *     }
 *   }
 *
 * Op names are block ops in lower case (linear, attention …) or ONNX op types (Add, Reshape …);
 * the op registry, not this grammar, decides which exist and what operands they take. A constant
 * is one number (every element equal) or all its elements in row-major order.
 */
grammar Tir;

module_     : header? 'module' STRING '{' item* '}' EOF ;
header      : 'tir' INT ;

item        : input | weight | constant | op | layer | output | placement ;
input       : 'input' VALUE ':' type ;
weight      : 'weight' WEIGHT ':' type '=' STRING ('perm' intList)? ;
constant    : 'const' VALUE ':' type '=' literal ;
layer       : 'layer' INT key attrDict? '{' op* '}' ;
output      : 'output' operand ;
placement   : 'placement' key attrDict? '{' region* '}' ;
region      : 'region' INT attrDict? '{' kernel* '}' ;
kernel      : 'kernel' key attrDict? ;

op          : VALUE (',' VALUE)* '=' name (operand (',' operand)*)? attrDict? ':' type (',' type)* loc? ;
operand     : VALUE | WEIGHT ;
loc         : 'loc' '(' STRING (',' STRING)* ')' ;

attrDict    : '{' (attr (',' attr)*)? '}' ;
attr        : key '=' attrValue ;
attrValue   : number | STRING | numberList ;

type        : name '[' (INT (',' INT)*)? ']' '<' (axis (',' axis)*)? '>' ;
axis        : '*' | name ;

literal     : number | numberList ;
numberList  : '[' (number (',' number)*)? ']' ;
intList     : '[' (INT (',' INT)*)? ']' ;
number      : INT | FLOAT ;

// Keywords are names too where a name is expected: Transpose has an attribute called perm.
name        : IDENT | 'tir' | 'module' | 'input' | 'weight' | 'const' | 'layer' | 'output' | 'loc' | 'perm'
            | 'placement' | 'region' | 'kernel' ;
// Attribute names and layer kinds that are not identifiers are written as strings.
key         : name | STRING ;

VALUE       : '%' (NAME | STRING) ;
WEIGHT      : '@' (NAME | STRING) ;
FLOAT       : '-'? DIGITS '.' DIGITS? EXPONENT?
            | '-'? DIGITS EXPONENT
            | 'NaN'
            | '-'? 'Infinity'
            ;
INT         : '-'? DIGITS ;
IDENT       : [A-Za-z_] [A-Za-z0-9_]* ;
STRING      : '"' (~["\\\r\n] | '\\' ["\\nrt])* '"' ;

COMMENT     : '#' ~[\r\n]* -> skip ;
WS          : [ \t\r\n]+ -> skip ;

fragment NAME     : [A-Za-z0-9_.$/\-]+ ;
fragment DIGITS   : [0-9]+ ;
fragment EXPONENT : [eE] [+\-]? DIGITS ;
